package respguard

import (
	"errors"
	"strconv"
)

// ErrRefused is what every *Error matches with errors.Is.
var ErrRefused = errors.New("wireredis: the server sent a reply that cannot be read safely")

// Error is a reply refused. It names what was wrong and where, never the
// reply's bytes (they may be anyone's data).
type Error struct {
	// Offset is where in the connection's stream of replies the refused
	// byte is.
	Offset int64
	// Reason says what was wrong: "a negative length".
	Reason string
}

func (e *Error) Error() string {
	return ErrRefused.Error() + ": " + e.Reason + " at byte " + strconv.FormatInt(e.Offset, 10) + " of the connection's replies"
}

// Is reports whether target is ErrRefused.
func (e *Error) Is(target error) bool { return target == ErrRefused }
