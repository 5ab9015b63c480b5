package provider

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"
)

// MaxFileSize bounds what a secret or certificate file may hold. A URL, a
// password or a PEM bundle of a few CAs fits many times over; /dev/zero or
// a log file named by mistake does not.
const MaxFileSize = 64 << 10

// errTooLarge, errNotRegular: the file is not one a setting may name.
var (
	errTooLarge   = fmt.Errorf("is larger than %d KiB", MaxFileSize>>10)
	errNotRegular = errors.New("is not a regular file (a FIFO, device or directory would block or never end)")
)

// readSettingFile reads the file a variable names: only a regular file
// (symbolic links to one, as Kubernetes mounts secrets, are fine), at
// most MaxFileSize, within ctx. Its errors are ConfigErrors naming the
// variable and the path, never the content.
func readSettingFile(ctx context.Context, variable, path string) ([]byte, error) {
	type result struct {
		b   []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		b, err := readRegular(path)
		done <- result{b, err}
	}()
	var res result
	select {
	case res = <-done:
	case <-ctx.Done():
		// A regular file that does not answer (a network file system
		// gone): the read ends by itself when the file system does.
		limit := "its deadline"
		if dl, ok := ctx.Deadline(); ok {
			limit = time.Until(dl).Round(time.Millisecond).String()
		}
		return nil, &ConfigError{Var: variable, Value: path, Reason: "cannot read the file: no answer from the file system (" + limit + ")"}
	}
	if res.err != nil {
		return nil, &ConfigError{Var: variable, Value: path, Reason: fileReason(res.err)}
	}
	return res.b, nil
}

// readRegular opens path without blocking (a FIFO would wait for a
// writer), checks that it is a regular file, and reads at most
// MaxFileSize bytes of it.
func readRegular(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, errNotRegular
	}
	if st.Size() > MaxFileSize {
		return nil, errTooLarge
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxFileSize { // it grew since Stat
		return nil, errTooLarge
	}
	return b, nil
}

func fileReason(err error) string {
	switch {
	case errors.Is(err, errNotRegular), errors.Is(err, errTooLarge):
		return err.Error()
	case errors.Is(err, os.ErrNotExist):
		return "cannot read the file: no such file"
	case errors.Is(err, os.ErrPermission):
		return "cannot read the file: permission denied"
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		return "cannot read the file: " + pe.Err.Error()
	}
	return "cannot read the file"
}
