package feature

import (
	"context"
	"sync"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/internal/keyspec"
)

// CommandLearner asks a server (COMMAND INFO) where the keys are of
// commands that neither the key table nor RegisterCommand know, once per
// command, and remembers the answer, a negative one included. Parts of one
// connection share one: Open does this when Options.LearnCommands is set.
type CommandLearner struct {
	client rueidis.Client

	mu    sync.Mutex
	known map[string]*keyspec.Command // by upper-case name; nil: unknown to the server
}

// NewCommandLearner asks client.
func NewCommandLearner(client rueidis.Client) *CommandLearner {
	return &CommandLearner{client: client, known: map[string]*keyspec.Command{}}
}

// lookup returns the learned entry for args, or nil when the server does
// not know the command either. A failed COMMAND INFO is returned and not
// remembered.
func (l *CommandLearner) lookup(ctx context.Context, args []string) (*keyspec.Command, int, error) {
	name := keyspec.Upper(args[0])
	l.mu.Lock()
	cmd, seen := l.known[name]
	l.mu.Unlock()
	if !seen {
		reply, err := l.client.Do(ctx, l.client.B().CommandInfo().CommandName(args[0]).Build()).ToArray()
		if err != nil {
			return nil, 0, err
		}
		infos, err := keyspec.ParseInfo(reply)
		if err != nil {
			return nil, 0, err
		}
		if len(infos) == 1 {
			cmd = keyspec.Learn(infos[0])
		}
		l.mu.Lock()
		l.known[name] = cmd
		l.mu.Unlock()
	}
	if cmd == nil {
		return nil, 0, nil
	}
	if cmd.Subcommands == nil {
		return cmd, 1, nil
	}
	if len(args) < 2 {
		return nil, 0, nil
	}
	sub := cmd.Subcommands[keyspec.Upper(args[1])]
	if sub == nil {
		return nil, 0, nil
	}
	return sub, 2, nil
}

// LearnCommands makes the client ask l about commands missing from the key
// table and RegisterCommand, instead of refusing them at once.
func LearnCommands(l *CommandLearner) Option { return func(c *Client) { c.learner = l } }
