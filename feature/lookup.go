package feature

// Finding a command: the key table, then RegisterCommand, then the
// learner; and the errors of the commands a part does not send.

import (
	"context"
	"errors"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/internal/keyspec"
)

// lookup finds args in the key table, then among the registered commands,
// then through the learner (see find), and explains a command it cannot
// place with a *CommandError.
func (c *Client) lookup(ctx context.Context, args []string) (*keyspec.Command, int, error) {
	spec, n, err := c.find(ctx, args)
	if err != nil {
		return nil, 0, c.lookupError(args, err)
	}
	return spec, n, nil
}

// find is lookup without the explanation: its error is the key table's,
// or a learnFailure. The memory of recent commands holds table entries
// named by their first argument alone: no registration or learned entry
// can stand for such a name (RegisterCommand refuses the table's names,
// containers included).
func (c *Client) find(ctx context.Context, args []string) (*keyspec.Command, int, error) {
	if len(args) > 0 {
		if spec := c.recent.find(args[0]); spec != nil {
			return spec, 1, nil
		}
	}
	spec, n, err := keyspec.Lookup(args)
	if err == nil {
		if n == 1 {
			c.recent.remember(args[0], spec)
		}
		return spec, n, nil
	}
	if !keyspec.IsUnknown(err) {
		return nil, 0, err
	}
	if spec, n := lookupRegistered(args); spec != nil {
		return spec, n, nil
	}
	if c.learner != nil {
		spec, n, lerr := c.learner.lookup(ctx, args)
		if lerr != nil {
			return nil, 0, learnFailure{lerr}
		}
		if spec != nil {
			return spec, n, nil
		}
	}
	return nil, 0, err
}

// learnFailure is the learner's failure to ask the server.
type learnFailure struct{ err error }

func (f learnFailure) Error() string { return f.err.Error() }

// lookupError explains why find could not place args. It is apart from
// lookup so that errors.As's target, which escapes, costs the commands
// found nothing.
func (c *Client) lookupError(args []string, err error) error {
	var lf learnFailure
	if errors.As(err, &lf) {
		return c.fail(args[0], "asking the server where its keys are (COMMAND INFO) failed: "+lf.err.Error(), lf.err)
	}
	name := "(empty command)"
	if len(args) > 0 {
		name = args[0]
		if len(args) > 1 && keyspec.IsContainer(args[0]) {
			name += " " + args[1]
		}
	}
	reason := err.Error()
	if keyspec.IsUnknown(err) {
		reason = "its keys cannot be placed: it is not in the key table (the commands of " + keyspec.ServerVersion() + "); describe it with feature.RegisterCommand, or enable REDIS_LEARN_COMMANDS. Nothing is sent unprefixed"
	}
	return c.fail(name, reason, err)
}

func (c *Client) fail(name, reason string, err error) error {
	if c.log != nil {
		c.log.Warn("wireredis: command refused", "namespace", c.ns, "command", name, "reason", reason)
	}
	return &CommandError{Namespace: c.ns, Command: name, Reason: reason, Err: err}
}

// empty is the error of a command with nothing in it: a zero
// rueidis.Completed, which rueidis itself would dereference as nil.
func (c *Client) empty() error {
	return c.fail("(empty command)", "it has no name: build commands with B()", ErrBadArguments)
}

// firstEmpty returns the index of the first empty command of multi, or -1.
func firstEmpty(multi []rueidis.Completed) int {
	for i := range multi {
		if multi[i].IsEmpty() {
			return i
		}
	}
	return -1
}

func (c *Client) crossSlot(name, detail string) error {
	if detail != "" {
		detail = " (" + detail + ")"
	}
	return c.fail(name, "its keys do not all hash to one cluster slot"+detail+"; use a hash tag such as {user1}", ErrBadArguments)
}
