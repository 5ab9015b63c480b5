package keyspec

import (
	"fmt"
	"strings"
)

// Hand-written rules, for what COMMAND key specs mark "unknown" or
// "incomplete". internal/keytablegen/classes.go attaches them by command
// name; the generator fails on such a spec without a rule.

// sortRule: SORT key [BY pattern] [LIMIT offset count] [GET pattern ...]
// [ASC|DESC] [ALPHA] [STORE destination]. The key at 1 comes from the key
// spec. Patterns name other keys ("weight_*", "data_*->field") and are
// prefixed; GET # stands for the element itself and is left alone.
func sortRule(args []string, p *Positions) error {
	for i := 2; i < len(args); i++ {
		switch strings.ToUpper(args[i]) {
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

// migrateRule: MIGRATE host port key|"" db timeout [COPY] [REPLACE]
// [AUTH password | AUTH2 username password] [KEYS key ...]. The key at 3 is
// a key only when not empty (empty means "see KEYS"); the options are
// walked, so a password that reads "KEYS" is not taken for the keyword.
func migrateRule(args []string, p *Positions) error {
	if len(args) < 6 {
		return errMigrate
	}
	if args[3] != "" {
		p.Add(3, Key)
	}
	for i := 6; i < len(args); i++ {
		switch strings.ToUpper(args[i]) {
		case "AUTH":
			i++
		case "AUTH2":
			i += 2
		case "KEYS":
			if args[3] != "" || i+1 >= len(args) {
				return errMigrate
			}
			p.add(i+1, len(args)-1, 1, Key)
			return nil
		}
	}
	if args[3] == "" {
		return errMigrate
	}
	return nil
}

var errMigrate = fmt.Errorf("%w of MIGRATE: give one key, or an empty key followed by KEYS and the keys", ErrBadArguments)
