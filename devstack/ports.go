package devstack

import (
	"fmt"
	"net"
	"strconv"
)

// portFree fails with a clear message when another program holds a port the
// stack needs, rather than letting a server die with a bind error in its log.
func portFree(port int) error {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return fmt.Errorf("port %d is in use by another program: stop it, run `slipway dev down` if it is an old stack, or pick other ports (SLIPWAY_TEMPORAL_PORT, SLIPWAY_UI_PORT, SLIPWAY_REGISTRY_PORT)", port)
	}
	return l.Close()
}

// FreePort asks the kernel for a port nobody listens on.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
