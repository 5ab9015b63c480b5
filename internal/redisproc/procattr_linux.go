package redisproc

import "syscall"

// procAttr makes the kernel kill a server when the process that started
// it dies, however it dies: a test binary killed at its timeout, or by
// its user, leaves no redis-server behind.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
