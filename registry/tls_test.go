package registry_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wireredis/wireredis/internal/redisproc"
	"github.com/wireredis/wireredis/provider"
	"github.com/wireredis/wireredis/redistest"
)

// pki writes a CA, a server certificate for redis.test and a client
// certificate, as PEM files in dir; issue adds certificates.
type pki struct {
	dir   string
	ca    *x509.Certificate
	caKey *ecdsa.PrivateKey
}

func (p pki) path(name string) string { return filepath.Join(p.dir, name) }

func newPKI(t *testing.T, dir, caName string) pki {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: caName},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	p := pki{dir: dir, ca: ca, caKey: caKey}
	p.write(t, "ca.crt", "CERTIFICATE", caDER)
	p.issue(t, "server", &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "redis.test"}, DNSNames: []string{"redis.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature,
	})
	p.issue(t, "client", &x509.Certificate{
		SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "app"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature,
	})
	return p
}

// issue writes name.crt and name.key, signed by the CA.
func (p pki) issue(t *testing.T, name string, tmpl *x509.Certificate) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	p.write(t, name+".crt", "CERTIFICATE", der)
	p.write(t, name+".key", "EC PRIVATE KEY", keyDER)
}

// serverCert is a server certificate template for the names given.
func serverCert(serial int64, dns []string, ips []net.IP) *x509.Certificate {
	return &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "redis server"}, DNSNames: dns, IPAddresses: ips,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature,
	}
}

func (p pki) write(t *testing.T, name, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(p.path(name), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// startTLS runs a redis-server with a TLS port; it returns that port.
func startTLS(t *testing.T, p pki, authClients string) int {
	t.Helper()
	return startTLSWith(t, p, "server", authClients)
}

// startTLSWith runs a redis-server whose TLS port presents the
// certificate cert (cert.crt, cert.key).
func startTLSWith(t *testing.T, p pki, cert, authClients string) int {
	t.Helper()
	redistest.RequireTLS(t)
	port, err := redisproc.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	redistest.Start(t, "--tls-port", strconv.Itoa(port), "--tls-cert-file", p.path(cert+".crt"),
		"--tls-key-file", p.path(cert+".key"), "--tls-ca-cert-file", p.path("ca.crt"), "--tls-auth-clients", authClients)
	return port
}

// TestTLSChecksEachAddressAgainstItsOwnHost: with REDIS_ADDRS, each
// address is verified against its own host, an IP or a DNS name (not
// against REDIS_HOST's default, localhost), unless REDIS_TLS_SERVER_NAME
// names one for all.
func TestTLSChecksEachAddressAgainstItsOwnHost(t *testing.T) {
	p := newPKI(t, t.TempDir(), "wireredis test CA")
	p.issue(t, "ip", serverCert(10, nil, []net.IP{net.ParseIP("127.0.0.1")}))
	p.issue(t, "dns", serverCert(11, []string{"localhost"}, nil))
	ipPort := strconv.Itoa(startTLSWith(t, p, "ip", "no"))
	dnsPort := strconv.Itoa(startTLSWith(t, p, "dns", "no"))
	common := []string{"REDIS_TLS_CA_FILE=" + p.path("ca.crt"), "REDIS_FORCE_SINGLE_CLIENT=true", "REDIS_PING_TIMEOUT=2s"}
	for _, tc := range []struct {
		name    string
		environ []string
		fails   string
	}{
		{"an IP certificate on an IP address", []string{"REDIS_TLS=true", "REDIS_ADDRS=127.0.0.1:" + ipPort}, ""},
		{"a DNS certificate on a DNS address", []string{"REDIS_TLS=true", "REDIS_ADDRS=localhost:" + dnsPort}, ""},
		{"a localhost certificate on an IP address", []string{"REDIS_TLS=true", "REDIS_ADDRS=127.0.0.1:" + dnsPort}, "cannot validate certificate for 127.0.0.1 because it doesn't contain any IP SANs"},
		{"an IP certificate on a DNS address", []string{"REDIS_TLS=true", "REDIS_ADDRS=localhost:" + ipPort}, "certificate is not valid for any names"},
		{"REDIS_TLS_SERVER_NAME for all", []string{"REDIS_TLS=true", "REDIS_ADDRS=127.0.0.1:" + dnsPort, "REDIS_TLS_SERVER_NAME=localhost"}, ""},
		{"a URL's addr parameters", []string{"REDIS_URL=rediss://127.0.0.1:" + ipPort + "?addr=localhost:" + dnsPort}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := append(append([]string(nil), common...), tc.environ...)
			if err := connects(t, load(t, "session", env...), tc.fails); err != nil && !strings.Contains(err.Error(), tc.fails) {
				t.Errorf("error %q, want %q", err, tc.fails)
			}
		})
	}
}

// connects acquires opts from a registry of its own: when fails is "",
// the connection must work (and answer PING); else Acquire must fail, and
// its error is returned.
func connects(t *testing.T, opts provider.Options, fails string) error {
	t.Helper()
	reg, _ := newRegistry(t)
	c, release, err := reg.Acquire(context.Background(), opts)
	if fails == "" {
		if err != nil {
			t.Fatalf("Acquire: %v", err)
		}
		defer release()
		ping(t, c)
		return nil
	}
	if err == nil {
		release()
		t.Fatal("Acquire succeeded")
	}
	t.Logf("%v", err)
	return err
}

func TestTLS(t *testing.T) {
	good := newPKI(t, t.TempDir(), "wireredis test CA")
	other := newPKI(t, t.TempDir(), "some other CA")
	port := startTLS(t, good, "no")
	mtlsPort := startTLS(t, good, "yes")
	addr := "127.0.0.1:" + strconv.Itoa(port)
	mtlsAddr := "127.0.0.1:" + strconv.Itoa(mtlsPort)
	ca, name := "REDIS_TLS_CA_FILE="+good.path("ca.crt"), "REDIS_TLS_SERVER_NAME=redis.test"
	cert, key := "REDIS_TLS_CERT_FILE="+good.path("client.crt"), "REDIS_TLS_KEY_FILE="+good.path("client.key")
	for _, tc := range []struct {
		name    string
		environ []string
		fails   string // "" when the connection must work
	}{
		{"rediss URL with the CA", []string{"REDIS_URL=rediss://" + addr, ca, name}, ""},
		{"REDIS_TLS with host and port", []string{"REDIS_TLS=true", "REDIS_HOST=127.0.0.1", "REDIS_PORT=" + strconv.Itoa(port), ca, name}, ""},
		{"plain client on the TLS port", []string{"REDIS_URL=redis://" + addr}, "expects TLS"},
		{"wrong CA", []string{"REDIS_URL=rediss://" + addr, "REDIS_TLS_CA_FILE=" + other.path("ca.crt"), name}, "certificate signed by unknown authority"},
		{"name mismatch", []string{"REDIS_URL=rediss://" + addr, ca}, "cannot validate certificate for 127.0.0.1"},
		{"mutual TLS without a client certificate", []string{"REDIS_URL=rediss://" + mtlsAddr, ca, name}, mtlsAddr},
		{"mutual TLS", []string{"REDIS_URL=rediss://" + mtlsAddr, ca, name, cert, key}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := connects(t, load(t, "session", append(tc.environ, "REDIS_PING_TIMEOUT=2s", "REDIS_PASSWORD=tls-secret-pw")...), tc.fails)
			if err != nil && (!strings.Contains(err.Error(), tc.fails) || strings.Contains(err.Error(), "tls-secret-pw")) {
				t.Errorf("error %q: want it to say %q, without the password", err, tc.fails)
			}
		})
	}
}

func TestTLSFileErrors(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "x.crt")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		environ []string
		want    string
	}{
		{[]string{"REDIS_TLS=true", "REDIS_TLS_CA_FILE=" + filepath.Join(dir, "missing.crt")}, "REDIS_TLS_CA_FILE"},
		{[]string{"REDIS_TLS=true", "REDIS_TLS_CA_FILE=" + notPEM}, "no PEM certificate"},
		{[]string{"REDIS_TLS=true", "REDIS_TLS_CERT_FILE=" + notPEM}, "REDIS_TLS_KEY_FILE"},
		{[]string{"REDIS_CACHE_TLS=true", "REDIS_CACHE_TLS_CERT_FILE=" + notPEM, "REDIS_CACHE_TLS_KEY_FILE=" + notPEM}, "REDIS_CACHE_TLS_CERT_FILE"},
		{[]string{"REDIS_TLS=true", "REDIS_TLS_CA_FILE=/dev/zero"}, "REDIS_TLS_CA_FILE"},
	} {
		reg, _ := newRegistry(t)
		_, _, err := reg.Acquire(context.Background(), load(t, "cache", tc.environ...))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error naming %s", tc.environ, err, tc.want)
		}
	}
}
