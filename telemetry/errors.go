package telemetry

// error.type: a class of error, never its text (which may quote a key).

import (
	"context"
	"errors"
	"net"
	"strings"

	"github.com/redis/rueidis"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/wireredis/wireredis/feature"
	"github.com/wireredis/wireredis/registry"
)

// The error.type of the commands a part did not send.
const (
	// ClassRefused: the command would cross the namespace or reach the
	// whole server (feature.ErrRefused).
	ClassRefused = "refused"
	// ClassUnknownCommand: the key table does not know the command
	// (feature.ErrUnknownCommand).
	ClassUnknownCommand = "unknown_command"
	// ClassBadArguments: its keys cannot be placed in its arguments
	// (feature.ErrBadArguments).
	ClassBadArguments = "bad_arguments"
	// ClassNotReady: a background part's connection is not made yet
	// (registry.ErrNotReady).
	ClassNotReady = "not_ready"
	// ClassClosing: the connection is closing (rueidis.ErrClosing).
	ClassClosing = "closing"
)

// The error.type of failures on the way.
const (
	ClassTimeout  = "timeout"  // a deadline passed
	ClassCanceled = "canceled" // the caller's context was cancelled
	ClassNetwork  = "network"  // a network error
)

// errorClass is the error.type of err, "" for none. A Redis error reply is
// classed by its prefix (WRONGTYPE, ERR, NOSCRIPT), which is also its
// db.response.status_code; the rest by what the caller can do about it.
func errorClass(err error) string {
	if err == nil {
		return "" // before the variables errors.As moves to the heap
	}
	return failureClass(err)
}

func failureClass(err error) string {
	var ce *feature.CommandError
	switch {
	case errors.As(err, &ce):
		switch {
		case errors.Is(ce, feature.ErrUnknownCommand):
			return ClassUnknownCommand
		case errors.Is(ce, feature.ErrBadArguments):
			return ClassBadArguments
		}
		return ClassRefused
	case errors.Is(err, registry.ErrNotReady):
		return ClassNotReady
	case errors.Is(err, rueidis.ErrClosing):
		return ClassClosing
	case errors.Is(err, context.DeadlineExceeded):
		return ClassTimeout
	case errors.Is(err, context.Canceled):
		return ClassCanceled
	}
	var re *rueidis.RedisError
	if errors.As(err, &re) && !re.IsNil() {
		return redisPrefix(re.Error())
	}
	var ne net.Error
	if errors.As(err, &ne) {
		if ne.Timeout() {
			return ClassTimeout
		}
		return ClassNetwork
	}
	return semconv.ErrorType(err).Value.AsString()
}

// redisPrefix is the prefix of a Redis error reply when it is one of the
// codes Redis itself writes, else "ERR". A script or a module may begin
// an error with any word (an argument, a value read from a key), and
// rueidis takes "ERR " off the front of every reply, leaving the word
// after it: only a fixed list keeps error.type free of data and bounded.
func redisPrefix(msg string) string {
	code, _, _ := strings.Cut(msg, " ")
	if _, ok := redisCodes[code]; ok {
		return code
	}
	return "ERR"
}

// redisCodes are the error codes of Redis 7.0's replies.
var redisCodes = map[string]struct{}{
	"ERR": {}, "WRONGTYPE": {}, "NOSCRIPT": {}, "NOGROUP": {}, "BUSYGROUP": {}, "BUSYKEY": {},
	"BUSY": {}, "NOTBUSY": {}, "UNKILLABLE": {}, "LOADING": {}, "MASTERDOWN": {}, "MISCONF": {},
	"MOVED": {}, "ASK": {}, "TRYAGAIN": {}, "CLUSTERDOWN": {}, "CROSSSLOT": {}, "READONLY": {},
	"NOAUTH": {}, "NOPERM": {}, "WRONGPASS": {}, "NOPROTO": {}, "NOREPLICAS": {}, "EXECABORT": {},
	"OOM": {}, "UNBLOCKED": {},
}

// isStatusCode reports whether class is a Redis error code, which is also
// the reply's db.response.status_code.
func isStatusCode(class string) bool {
	_, ok := redisCodes[class]
	return ok
}

// isRefusal reports whether class is that of a command the part refused.
func isRefusal(class string) bool {
	return class == ClassRefused || class == ClassUnknownCommand || class == ClassBadArguments
}
