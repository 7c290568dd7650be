package chaos

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/testsuite"
)

// The run's size and seed: flags after -args, else SLIPWAY_CHAOS_N and
// SLIPWAY_CHAOS_SEED, else a short run (`make test` runs it) on a new seed.
var (
	nFlag    = flag.Int("n", envInt("SLIPWAY_CHAOS_N", 12), "promotions to run (env SLIPWAY_CHAOS_N)")
	seedFlag = flag.Uint64("seed", uint64(envInt("SLIPWAY_CHAOS_SEED", 0)), "the fault schedule's seed; 0 picks one (env SLIPWAY_CHAOS_SEED)")
)

func envInt(name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		fmt.Fprintf(os.Stderr, "chaos: %s=%q is not a whole number: unset it or give one\n", name, v)
		os.Exit(2)
	}
	return n
}

func seed() uint64 {
	if *seedFlag != 0 {
		return *seedFlag
	}
	return uint64(time.Now().UnixNano()%1_000_000_000) + 1
}

func TestMain(m *testing.M) { testsuite.Main(m) }
