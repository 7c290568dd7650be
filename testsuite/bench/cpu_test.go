package bench

import (
	"cmp"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/slipway-dev/slipway/devstack"
)

// cpuSample is the CPU seconds each part of the machine has used so far:
// every live process by its name (see procName), this benchmark's own
// process (the floor's client), the CLI runs it has waited for, and the
// whole machine, so the difference of two samples says where a round's
// CPU went, what nothing named used included.
type cpuSample struct {
	byName  map[string]float64
	machine float64
}

const (
	cpuBench   = "this benchmark (the floor's client)"
	cpuCLI     = "slipway CLI runs"
	cpuMachine = "the whole machine"
	cpuOther   = "everything else"
)

func sampleCPU() cpuSample {
	s := cpuSample{byName: map[string]float64{}, machine: machineCPU()}
	self := os.Getpid()
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		cpu, waited, ok := devstack.ProcessCPU(pid)
		if !ok {
			continue
		}
		if pid == self {
			s.byName[cpuBench] += cpu
			// Children's times count once they are waited for: every
			// slipway CLI run has been by the time a round ends.
			s.byName[cpuCLI] += waited
			continue
		}
		s.byName[procName(pid)] += cpu
	}
	return s
}

// cpuSpent is what each part used between the samples of each side,
// averaged over rounds; parts under 0.05 s on both sides fold into
// "everything else", the machine's total is last, and the rest go from
// most to least used by slipway's side.
func cpuSpent(slipway, floor [][2]cpuSample) []ComponentCPU {
	spent := func(rounds [][2]cpuSample) (map[string]float64, float64) {
		by := map[string]float64{}
		var machine float64
		for _, r := range rounds {
			for name, after := range r[1].byName {
				by[name] += (after - r[0].byName[name]) / float64(len(rounds))
			}
			machine += (r[1].machine - r[0].machine) / float64(len(rounds))
		}
		return by, machine
	}
	s, sm := spent(slipway)
	f, fm := spent(floor)
	var out []ComponentCPU
	other := ComponentCPU{Name: cpuOther, Slipway: sm, Floor: fm}
	names := map[string]bool{}
	for name := range s {
		names[name] = true
	}
	for name := range f {
		names[name] = true
	}
	for _, name := range slices.Sorted(maps.Keys(names)) {
		c := ComponentCPU{Name: name, Slipway: max(0, s[name]), Floor: max(0, f[name])}
		if c.Slipway < 0.05 && c.Floor < 0.05 {
			continue
		}
		other.Slipway -= c.Slipway
		other.Floor -= c.Floor
		out = append(out, c)
	}
	slices.SortStableFunc(out, func(a, b ComponentCPU) int { return cmp.Compare(b.Slipway, a.Slipway) })
	other.Slipway, other.Floor = max(0, other.Slipway), max(0, other.Floor)
	return append(out, other, ComponentCPU{Name: cpuMachine, Slipway: sm, Floor: fm})
}

// procName names a process by its executable, and slipway's by its
// command too (the worker, the codec server).
func procName(pid int) string {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil || len(raw) == 0 {
		return "kernel threads" // or a process gone since it was listed
	}
	argv := strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")
	name := filepath.Base(argv[0])
	if name == "slipway" && len(argv) > 1 {
		name += " " + argv[1]
	}
	return name
}

// machineCPU is the CPU seconds all CPUs have been busy since boot: the
// first line of /proc/stat, every column but idle and iowait.
func machineCPU() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	var busy float64
	for i, v := range strings.Fields(line)[1:] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		if i >= 8 { // guest time is counted in user already
			break
		}
		n, _ := strconv.ParseFloat(v, 64)
		busy += n
	}
	return busy / 100
}
