package keyspec

import (
	"fmt"
)

// Hand-written rules, for what COMMAND key specs mark "unknown" or
// "incomplete", and for commands whose key specs the server does not
// follow. cmd/keytablegen/classes.go attaches them by command name;
// the generator fails on an incomplete spec without a rule. Each rule
// walks the options as the server's own parser does: a command the server
// would reject for its syntax is harmless whatever a rule marks in it.

// sortRule: SORT key [BY pattern] [LIMIT offset count] [GET pattern ...]
// [ASC|DESC] [ALPHA] [STORE destination]. The key at 1 comes from the key
// spec. Patterns name other keys ("weight_*", "data_*->field") and are
// prefixed; GET # stands for the element itself and is left alone.
func sortRule(args []string, p *Positions) error {
	for i := 2; i < len(args); i++ {
		switch Upper(args[i]) {
		case "BY":
			if i+1 < len(args) {
				p.Add(i+1, Pattern)
			}
			i++
		case "GET":
			if i+1 < len(args) && args[i+1] != "#" {
				p.Add(i+1, Pattern)
			}
			i++
		case "STORE":
			if i+1 < len(args) {
				p.Add(i+1, Key)
			}
			i++
		case "LIMIT":
			i += 2
		}
	}
	return nil
}

// geoRadiusRule: GEORADIUS key longitude latitude radius unit [options]
// and GEORADIUSBYMEMBER key member radius unit [options]. The server
// (georadiusGeneric) walks the options and writes to the destination of
// the last STORE or STOREDIST; the key specs name the first. Every one is
// a key here, so the last is prefixed too.
func geoRadiusRule(name string, args []string, p *Positions) error {
	first := 6
	if name == "GEORADIUSBYMEMBER" {
		first = 5
	}
	for i := first; i < len(args); i++ {
		switch Upper(args[i]) {
		case "COUNT":
			i++
		case "STORE", "STOREDIST":
			if i+1 < len(args) {
				p.Add(i+1, Key)
			}
			i++
		}
	}
	return nil
}

// xreadRule: XREAD [COUNT n] [BLOCK ms] STREAMS key ... id ... and
// XREADGROUP GROUP group consumer [COUNT n] [BLOCK ms] [NOACK] STREAMS
// key ... id .... The server (xreadCommand) walks the options in any
// order and takes the streams after the first STREAMS it reaches as an
// option: the first half of what follows are keys. A group or consumer
// named STREAMS is not that keyword, whatever the key specs find.
func xreadRule(args []string, p *Positions) error {
	for i := 1; i < len(args); i++ {
		more := len(args) - i - 1
		switch Upper(args[i]) {
		case "COUNT", "BLOCK":
			if more > 0 {
				i++
			}
		case "GROUP":
			if more >= 2 {
				i += 2
			}
		case "STREAMS":
			// An odd count the server refuses; the half rounded down is
			// what COMMAND GETKEYS names then.
			if more >= 2 {
				p.add(i+1, i+more/2, 1, Key)
			}
			return nil
		}
	}
	return nil
}

// copyRule: COPY source destination [DB destination-db] [REPLACE]. The
// keys come from the key specs; the DB option writes to another database,
// outside the part's connection, so it is refused like MOVE.
func copyRule(args []string) error {
	for i := 3; i < len(args); i++ {
		if EqualFold(args[i], "DB") && i+1 < len(args) {
			return fmt.Errorf("%w: COPY ... DB copies to another database, outside this part's connection; open a part on that database (REDIS_<PART>_DB) and write the key there", ErrRefused)
		}
	}
	return nil
}
