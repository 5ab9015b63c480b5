// Package leakcheck is the goleak policy shared by the test suites.
package leakcheck
