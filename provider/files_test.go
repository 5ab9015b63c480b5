package provider

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// loadWithin runs LoadFrom, failing the test when it does not return
// within limit (a FIFO once blocked it for good, /dev/zero grew it to 1 GB).
func loadWithin(t *testing.T, limit time.Duration, environ ...string) (Options, error) {
	t.Helper()
	type result struct {
		o   Options
		err error
	}
	done := make(chan result, 1)
	go func() {
		o, err := LoadFrom(environ)
		done <- result{o, err}
	}()
	select {
	case r := <-done:
		return r.o, r.err
	case <-time.After(limit):
		t.Fatalf("LoadFrom(%q) did not return within %s", environ, limit)
		return Options{}, nil
	}
}

// TestSettingFilesMustBeSmallRegularFiles: a *_FILE variable that names a
// FIFO, a device, a directory or a file over 64 KiB is a configuration
// error naming the variable, at once.
func TestSettingFilesMustBeSmallRegularFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, make([]byte, MaxFileSize+1), 0o600); err != nil {
		t.Fatal(err)
	}
	fits := filepath.Join(dir, "fits")
	if err := os.WriteFile(fits, []byte(strings.Repeat("p", MaxFileSize-1)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link") // as Kubernetes mounts secrets
	if err := os.Symlink(fits, link); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		variable, path, want string
	}{
		{"REDIS_PASSWORD_FILE", "/dev/zero", "not a regular file"},
		{"REDIS_PASSWORD_FILE", fifo, "not a regular file"},
		{"REDIS_URL_FILE", dir, "not a regular file"},
		{"REDIS_USERNAME_FILE", big, "larger than 64 KiB"},
		{"REDIS_CACHE_SENTINEL_PASSWORD_FILE", fifo, "not a regular file"},
		{"REDIS_PASSWORD_FILE", "/dev/null", "not a regular file"},
	} {
		t.Run(tc.variable+"="+filepath.Base(tc.path), func(t *testing.T) {
			_, err := loadWithin(t, 2*time.Second, tc.variable+"="+tc.path)
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Var != tc.variable || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("LoadFrom: %v, want a ConfigError naming %s that says %q", err, tc.variable, tc.want)
			}
		})
	}
	for _, path := range []string{fits, link} {
		o, err := loadWithin(t, 2*time.Second, "REDIS_PASSWORD_FILE="+path)
		if err != nil || len(o.Password.Value()) != MaxFileSize-1 {
			t.Errorf("a %d-byte password file (%s): %v", MaxFileSize-1, path, err)
		}
	}
}

// TestTLSFilesReadWithinTheDeadline: the TLS files are read when the
// client options are made, under the same rules, and within the caller's
// context.
func TestTLSFilesReadWithinTheDeadline(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, environ := range [][]string{
		{"REDIS_TLS=true", "REDIS_TLS_CA_FILE=/dev/zero"},
		{"REDIS_TLS=true", "REDIS_TLS_CA_FILE=" + fifo},
		{"REDIS_TLS=true", "REDIS_TLS_CERT_FILE=/dev/urandom", "REDIS_TLS_KEY_FILE=" + fifo},
	} {
		o, err := LoadFrom(environ)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		start := time.Now()
		_, err = o.ClientOptionContext(ctx)
		cancel()
		var ce *ConfigError
		if !errors.As(err, &ce) || !strings.HasPrefix(ce.Var, "REDIS_TLS_") || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("%v: %v, want an error naming the TLS variable", environ, err)
		}
		if d := time.Since(start); d > 500*time.Millisecond {
			t.Errorf("%v: took %s", environ, d)
		}
	}
	// A context that has ended: the file is not waited for.
	o, err := LoadFrom([]string{"REDIS_TLS=true", "REDIS_TLS_CA_FILE=" + fifo})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := o.ClientOptionContext(ctx); err == nil {
		t.Error("no error with an ended context")
	}
}
