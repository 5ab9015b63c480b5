package redisproc

import "testing"

func TestParseVersion(t *testing.T) {
	for _, tc := range []struct {
		out  string
		want string
		at70 bool
	}{
		{"Redis server v=6.2.16 sha=00000000:0 malloc=libc bits=64 build=9642f216a0138073\n", "redis 6.2.16", false},
		{"Redis server v=7.0.15 sha=00000000:0 malloc=jemalloc-5.3.0 bits=64 build=ae4d7c971a948f0\n", "redis 7.0.15", true},
		{"Valkey server v=8.0.1 sha=00000000:1 malloc=libc bits=64 build=ba35f7fbebdf70fd\n", "valkey 8.0.1", true},
	} {
		v, err := ParseVersion(tc.out)
		if err != nil || v.String() != tc.want || v.AtLeast(7, 0) != tc.at70 {
			t.Errorf("ParseVersion(%q) = %v %v, AtLeast(7, 0) %v", tc.out, v, err, v.AtLeast(7, 0))
		}
	}
	for _, bad := range []string{"", "redis-server: not found", "Redis server v=7.x.1 sha=0"} {
		if _, err := ParseVersion(bad); err == nil {
			t.Errorf("ParseVersion(%q) accepted it", bad)
		}
	}
}

// TestBinaryComesFromTheSetting: REDIS_SERVER_BIN names the program.
func TestBinaryComesFromTheSetting(t *testing.T) {
	t.Setenv(BinaryEnv, "")
	if Binary() != "redis-server" {
		t.Errorf("Binary() = %q without the setting", Binary())
	}
	t.Setenv(BinaryEnv, "/opt/valkey/valkey-server")
	if Binary() != "/opt/valkey/valkey-server" {
		t.Errorf("Binary() = %q", Binary())
	}
	if _, err := StartBinary("/nonexistent/redis-server"); err == nil {
		t.Error("StartBinary of a missing program succeeded")
	}
}

func TestServerName(t *testing.T) {
	for _, tc := range []struct{ info, want string }{
		{"# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\n", "redis 7.0.15"},
		{"# Server\r\nredis_version:7.2.4\r\nserver_name:valkey\r\nvalkey_version:8.0.1\r\n", "valkey 8.0.1"},
		{"valkey_version:8.0.1\r\nredis_version:7.2.4\r\n", "valkey 8.0.1"},
		{"# Server\r\n", ""},
	} {
		if got := ServerName(tc.info); got != tc.want {
			t.Errorf("ServerName(%q) = %q, want %q", tc.info, got, tc.want)
		}
	}
}
