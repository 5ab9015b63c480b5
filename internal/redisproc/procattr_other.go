//go:build !linux

package redisproc

import "syscall"

// procAttr: elsewhere a server outlives a process killed before it could
// stop it.
func procAttr() *syscall.SysProcAttr { return nil }
