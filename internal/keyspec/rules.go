package keyspec

import (
	"fmt"
	"strconv"
)

// Hand-written rules, for what COMMAND key specs mark "unknown" or
// "incomplete", and for commands whose key specs the server does not
// follow. cmd/keytablegen/classes.go attaches them by command name;
// the generator fails on an incomplete spec without a rule. Each rule is
// a port of the server's own option loop (Redis 6.2 to 7.4 share these
// loops), reading keywords with Keyword: what the server
// takes as a key, the rule takes as a key. Where the server would answer
// a syntax error, the rule refuses the command (ErrBadArguments): the
// part then sends nothing rather than guess.

// syntaxError is the rule's answer where the server's loop would stop
// with a syntax error.
func syntaxError(name string, args []string, i int) error {
	return fmt.Errorf("%w of %s: the server would refuse it (syntax error at argument %d, %s)", ErrBadArguments, name, i, strconv.Quote(args[i]))
}

// sortRule: SORT key [BY pattern] [LIMIT offset count] [GET pattern ...]
// [ASC|DESC] [ALPHA] [STORE destination], as sort.c sortCommandGeneric
// reads it (SORT_RO has no STORE). The key at 1 comes from the key spec.
// Patterns name other keys ("weight_*", "data_*->field") and are
// prefixed; GET # stands for the element itself and is left alone (the
// server reads "#" as a C string: "#\x00x" is "#" too).
func sortRule(name string, args []string, p *Positions) error {
	readonly := name == "SORT_RO"
	for j := 2; j < len(args); j++ {
		left := len(args) - j - 1
		a := args[j]
		switch {
		case Keyword(a, "asc"), Keyword(a, "desc"), Keyword(a, "alpha"):
		case Keyword(a, "limit") && left >= 2:
			j += 2 // numbers the server checks; they name no key
		case !readonly && Keyword(a, "store") && left >= 1:
			p.Add(j+1, Key)
			j++
		case Keyword(a, "by") && left >= 1:
			p.Add(j+1, Pattern)
			j++
		case Keyword(a, "get") && left >= 1:
			if CString(args[j+1]) != "#" {
				p.Add(j+1, Pattern)
			}
			j++
		default:
			return syntaxError(name, args, j)
		}
	}
	return nil
}

// geoRadiusRule: GEORADIUS key longitude latitude radius unit [options]
// and GEORADIUSBYMEMBER key member radius unit [options], as geo.c
// georadiusGeneric reads the options. The server writes to the
// destination of the last STORE or STOREDIST; the key specs name the
// first. Every one is a key here, so the last is prefixed too.
func geoRadiusRule(name string, args []string, p *Positions) error {
	base := 6
	if name == "GEORADIUSBYMEMBER" {
		base = 5
	}
	for i := base; i < len(args); i++ {
		more := len(args) - i - 1
		a := args[i]
		switch {
		case Keyword(a, "withdist"), Keyword(a, "withhash"), Keyword(a, "withcoord"),
			Keyword(a, "any"), Keyword(a, "asc"), Keyword(a, "desc"):
		case Keyword(a, "count") && more >= 1:
			i++
		case (Keyword(a, "store") || Keyword(a, "storedist")) && more >= 1:
			p.Add(i+1, Key)
			i++
		default:
			return syntaxError(name, args, i)
		}
	}
	return nil
}

// xreadRule: XREAD [COUNT n] [BLOCK ms] STREAMS key ... id ... and
// XREADGROUP GROUP group consumer [COUNT n] [BLOCK ms] [NOACK] STREAMS
// key ... id ..., as t_stream.c xreadCommand reads them: the options in
// any order, then the first STREAMS it reaches as an option; the first
// half of what follows are keys. A group or consumer named STREAMS is not
// that keyword, whatever the key specs find.
func xreadRule(name string, args []string, p *Positions) error {
	group := name == "XREADGROUP"
	hasGroup := false
	for i := 1; i < len(args); i++ {
		more := len(args) - i - 1
		a := args[i]
		switch {
		case Keyword(a, "BLOCK") && more >= 1, Keyword(a, "COUNT") && more >= 1:
			i++
		case Keyword(a, "STREAMS") && more >= 1:
			if more%2 != 0 {
				return fmt.Errorf("%w of %s: the server would refuse it (an ID for each stream)", ErrBadArguments, name)
			}
			if group && !hasGroup {
				return fmt.Errorf("%w of %s: the server would refuse it (no GROUP)", ErrBadArguments, name)
			}
			p.add(i+1, i+more/2, 1, Key)
			return nil
		case Keyword(a, "GROUP") && more >= 2 && group:
			hasGroup = true
			i += 2
		case Keyword(a, "NOACK") && group:
		default:
			return syntaxError(name, args, i)
		}
	}
	return fmt.Errorf("%w of %s: the server would refuse it (no STREAMS)", ErrBadArguments, name)
}

// copyRule: COPY source destination [DB destination-db] [REPLACE], as
// db.c copyCommand reads it. The keys come from the key specs; the DB
// option writes to another database, outside the part's connection, so
// it is refused like MOVE.
func copyRule(args []string) error {
	for j := 3; j < len(args); j++ {
		switch {
		case Keyword(args[j], "replace"):
		case Keyword(args[j], "db") && j+1 < len(args):
			return fmt.Errorf("%w: COPY ... DB copies to another database, outside this part's connection; open a part on that database (REDIS_<PART>_DB) and write the key there", ErrRefused)
		default:
			return syntaxError("COPY", args, j)
		}
	}
	return nil
}

// ScanPatterns returns where the MATCH patterns of SCAN cursor [MATCH
// pattern] [COUNT count] [TYPE type] are, as db.c scanGenericCommand
// reads the options (the server uses the last); an error where the
// server would refuse the options.
func ScanPatterns(args []string) ([]int, error) {
	var at []int
	for i := 2; i < len(args); i += 2 {
		two := len(args)-i >= 2
		switch {
		case Keyword(args[i], "count") && two, Keyword(args[i], "type") && two:
		case Keyword(args[i], "match") && two:
			at = append(at, i+1)
		default:
			return nil, syntaxError("SCAN", args, i)
		}
	}
	return at, nil
}
