package feature

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/wireredis/wireredis/internal/keyspec"
	"github.com/wireredis/wireredis/internal/rueidisx"
)

// ErrNamespace is matched by the errors of a namespace that cannot be
// used: empty, with characters Redis patterns or hash tags read
// (* ? [ ] \ { }), white space or control characters.
var ErrNamespace = errors.New("invalid namespace")

var (
	// ErrRefused is matched by errors for commands that would cross the
	// namespace (FLUSHDB, RANDOMKEY, SELECT, ...), reach the whole server
	// (CONFIG, SHUTDOWN, CLIENT KILL, ...) or, sent alone on a shared
	// connection, act on other parts' commands (MULTI, WATCH, ...). It
	// also matches an EXEC reply withheld on a dedicated connection
	// when a call inside the transaction ended without the server's
	// answer: its elements could not be matched to their commands.
	ErrRefused = keyspec.ErrRefused
	// ErrUnknownCommand is matched by errors for commands the key table does
	// not know: their keys cannot be placed, so they are not sent.
	ErrUnknownCommand = keyspec.ErrUnknownCommand
	// ErrBadArguments is matched by errors for commands whose keys cannot be
	// located in the arguments given (say, EVAL with a non-numeric numkeys).
	ErrBadArguments = keyspec.ErrBadArguments
	// ErrNotSent is matched by the results of the other commands of a batch
	// in which one command was not sent: a batch is sent whole or not at all.
	ErrNotSent = errors.New("not sent")
)

// CommandError reports a command that a namespaced client did not send.
type CommandError struct {
	Namespace string
	// Command is the command's name, as the caller spelled it.
	Command string
	// Reason says why, and what to do instead.
	Reason string
	Err    error
}

func (e *CommandError) Error() string {
	name := e.Command
	if strings.ContainsFunc(name, func(r rune) bool { return r != ' ' && !unicode.IsPrint(r) }) {
		// A name with NUL, control or invalid bytes is quoted: a caller's
		// bytes must not forge lines in a log.
		name = strconv.Quote(name)
	}
	return fmt.Sprintf("wireredis: part %q: %s not sent: %s", e.Namespace, name, e.Reason)
}

func (e *CommandError) Unwrap() error { return e.Err }

// ErrRueidisLayout is matched by the error of opening a part when the
// rueidis linked in is not laid out as wireredis's mirror of its replies
// expects (a rueidis release wireredis was not checked against): the
// part's replies could keep its prefix, so it does not open.
var ErrRueidisLayout = rueidisx.ErrLayout

// ErrOverlap is matched by the error of a part that does not open
// because its prefix overlaps another's on one server: either could read
// and write the other's keys or channels.
var ErrOverlap = errors.New("the prefixes of two parts overlap")

// OverlapError names the two parts whose prefixes overlap.
type OverlapError struct {
	// Addr is the server, as provider.Options.Addr gives it.
	Addr string
	// Part and Prefix are the part being opened; Other and OtherPrefix
	// the part that holds its claim already.
	Part, Prefix       string
	Other, OtherPrefix string
	// DB and OtherDB are their databases: keys overlap in one database,
	// channels in every database of a server.
	DB, OtherDB int
}

func (e *OverlapError) Error() string {
	what := "their keys and channels"
	if e.DB != e.OtherDB {
		what = fmt.Sprintf("their channels (Pub/Sub is the same in every database; keys in db %d and db %d)", e.DB, e.OtherDB)
	}
	return fmt.Sprintf("wireredis: part %q (prefix %q) overlaps part %q (prefix %q) on %s: %s overlap, so either could read and write the other's; give them namespaces neither of which is the start of the other",
		e.Part, e.Prefix, e.Other, e.OtherPrefix, e.Addr, what)
}

func (e *OverlapError) Unwrap() error { return ErrOverlap }

// DeadlineError reports a command that a deadline ended before its reply
// came: the part's command timeout (REDIS_<PART>_COMMAND_TIMEOUT, or
// REDIS_COMMAND_TIMEOUT) or the caller's context deadline. It matches
// context.DeadlineExceeded. The connection the part shares is not
// disturbed: the reply, when it comes, is read and dropped.
type DeadlineError struct {
	Namespace string
	// Timeout is the part's command timeout that ended the command (with
	// a blocking command's own time added); 0 for the caller's deadline.
	Timeout time.Duration
	// By names the deadline: the variable that set the timeout, or "the
	// caller's context deadline".
	By string
}

func (e *DeadlineError) Error() string {
	who := "wireredis: "
	if e.Namespace != "" {
		who += fmt.Sprintf("part %q: ", e.Namespace)
	}
	if e.Timeout > 0 {
		return fmt.Sprintf("%sno reply within %s (%s)", who, e.Timeout, e.By)
	}
	return who + "no reply before " + e.By
}

func (e *DeadlineError) Unwrap() error { return context.DeadlineExceeded }
