package model

import (
	"fmt"
	"strconv"
	"strings"
)

var scaleFields = fields{
	known:   []string{"count", "cpu", "limit", "max", "memory", "min", "targets"},
	ignored: []string{"autoscale", "gpu", "keda", "vpa"},
}

var countMsg = fmt.Sprintf("must be a whole number of processes between 0 and %d", MaxScaleCount)

// parseScale reads `scale: N`, `scale: "1-5"` or `scale: {count, min, max,
// cpu, memory, limit, targets}` with Convox's rules (ApplyDefaults):
// count is N, "N-M" or {min, max}; scale.min and scale.max override it;
// a count range autoscales, on DefaultTargetCPU when no target is set.
// An agent runs one process per node and never autoscales.
func parseScale(v val, agent bool) (Scale, error) {
	s := Scale{Count: DefaultScaleCount, Max: DefaultScaleCount, CPU: DefaultCPU, Memory: DefaultMemory}
	var err error
	switch v.kind() {
	case kNull:
		return s, nil
	case kNumber, kString:
		if s.Count, s.Max, err = parseCount(v); err != nil {
			return s, err
		}
		return finishScale(v, s, agent), nil
	}
	o, err := v.object("a count or a map with count, cpu and memory", scaleFields)
	if err != nil {
		return s, err
	}
	cn, minN, maxN := o.get("count"), o.get("min"), o.get("max")
	lo, hi := 0, 0 // Convox's count before its defaults
	if cn.kind() != kNull {
		if lo, hi, err = parseCount(cn); err != nil {
			return s, err
		}
	}
	var min, max int
	if err := minN.optInt(&min, 0, MaxScaleCount, countMsg); err != nil {
		return s, err
	}
	if err := maxN.optInt(&max, 0, MaxScaleCount, countMsg); err != nil {
		return s, err
	}
	switch hasMin, hasMax := minN.kind() != kNull, maxN.kind() != kNull; {
	case hasMin && hasMax:
		lo, hi = min, max
	case hasMin:
		lo, hi = min, min
	case hasMax:
		hi = max
		if lo == 0 {
			lo = max
		}
	case cn.kind() == kNull:
		lo, hi = DefaultScaleCount, DefaultScaleCount
	}
	if hi < lo {
		at := maxN
		if maxN.kind() == kNull {
			at = cn
		}
		return s, at.errorf("the maximum (%d) is less than the minimum (%d): raise it", hi, lo)
	}
	s.Count, s.Max = lo, hi

	if err := o.get("cpu").optInt(&s.CPU, 1, MaxScaleCPU, cpuMsg); err != nil {
		return s, err
	}
	if err := o.get("memory").optInt(&s.Memory, 1, MaxScaleMemory, memoryMsg); err != nil {
		return s, err
	}
	if s.Limit, err = parseLimit(o.get("limit")); err != nil {
		return s, err
	}
	// Convox requests the limit when only the limit is set.
	if o.get("cpu").kind() == kNull && s.Limit.CPU > 0 {
		s.CPU = s.Limit.CPU
	}
	if o.get("memory").kind() == kNull && s.Limit.Memory > 0 {
		s.Memory = s.Limit.Memory
	}
	ln := o.get("limit")
	if s.Limit.CPU > 0 && s.Limit.CPU < s.CPU {
		return s, childOf(ln, "cpu").errorf("must be at least the cpu request (%d millicores): raise it or lower scale.cpu", s.CPU)
	}
	if s.Limit.Memory > 0 && s.Limit.Memory < s.Memory {
		return s, childOf(ln, "memory").errorf("must be at least the memory request (%d MB): raise it or lower scale.memory", s.Memory)
	}
	if s.Targets, err = parseTargets(o.get("targets")); err != nil {
		return s, err
	}
	return finishScale(v, s, agent), nil
}

const (
	cpuMsg    = "must be a number of millicores between 1 and 1000000 (1000 is one core)"
	memoryMsg = "must be a number of megabytes between 1 and 4194304"
)

// childOf is the field key of the map v, for an error about it.
func childOf(v val, key string) val {
	if ms, err := v.members(""); err == nil {
		for _, m := range ms {
			if m.key == key {
				return m.val
			}
		}
	}
	return val{path: childPath(v.path, key), line: v.line, d: v.d}
}

func finishScale(v val, s Scale, agent bool) Scale {
	if agent && s.Max > s.Count {
		v.warn("the range is ignored: an agent runs one process on every node")
		s.Max = s.Count
	}
	if s.Max > s.Count && s.Targets == (ScaleTargets{}) {
		s.Targets.CPU = DefaultTargetCPU
	}
	return s
}

var countFields = fields{known: []string{"max", "min"}}

// parseCount reads a count: N, "N", "N-M" or {min, max}. Convox refuses
// "N+" (its parser fails on it), and so does slipway.
func parseCount(v val) (int, int, error) {
	switch v.kind() {
	case kNumber:
		n, err := v.integer(0, MaxScaleCount, countMsg)
		return n, n, err
	case kString:
		text := v.n.Value
		bad := func() (int, int, error) {
			return 0, 0, v.errorf("%s, or a range like \"1-5\"%s", countMsg, q(", not ", text))
		}
		lo, hi, isRange := strings.Cut(text, "-")
		a, err := countNumber(lo)
		if err != nil {
			return bad()
		}
		b := a
		if isRange {
			if b, err = countNumber(hi); err != nil {
				return bad()
			}
		}
		if b < a {
			return 0, 0, v.errorf("the maximum (%d) is less than the minimum (%d): write the smaller number first", b, a)
		}
		return a, b, nil
	case kMap:
		o, err := v.object("", countFields)
		if err != nil {
			return 0, 0, err
		}
		var lo, hi int
		for _, f := range []struct {
			key string
			dst *int
		}{{"min", &lo}, {"max", &hi}} {
			fn := o.get(f.key)
			switch fn.kind() {
			case kNull:
			case kString:
				if *f.dst, err = countNumber(fn.n.Value); err != nil {
					return 0, 0, fn.errorf("%s", countMsg)
				}
			default:
				if *f.dst, err = fn.integer(0, MaxScaleCount, countMsg); err != nil {
					return 0, 0, err
				}
			}
		}
		if o.get("max").kind() == kNull {
			return 0, 0, v.errorf("needs a max as well as a min: write {min: %d, max: N}", lo)
		}
		if hi < lo {
			return 0, 0, o.get("max").errorf("the maximum (%d) is less than the minimum (%d): raise it", hi, lo)
		}
		return lo, hi, nil
	}
	return 0, 0, v.errorf("%s", countMsg)
}

func countNumber(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 || n > MaxScaleCount {
		return 0, fmt.Errorf("bad count")
	}
	return n, nil
}

var limitFields = fields{known: []string{"cpu", "memory"}}

func parseLimit(v val) (ScaleLimit, error) {
	var l ScaleLimit
	o, err := v.object("a map with cpu and memory", limitFields)
	if err == nil {
		err = o.get("cpu").optInt(&l.CPU, 1, MaxScaleCPU, cpuMsg)
	}
	if err == nil {
		err = o.get("memory").optInt(&l.Memory, 1, MaxScaleMemory, memoryMsg)
	}
	return l, err
}

var targetsFields = fields{known: []string{"cpu", "memory"}, ignored: []string{"custom", "external", "requests"}}

func parseTargets(v val) (ScaleTargets, error) {
	var t ScaleTargets
	o, err := v.object("a map with cpu and memory", targetsFields)
	if err == nil {
		err = o.get("cpu").optInt(&t.CPU, 1, 100, "must be a percentage between 1 and 100")
	}
	if err == nil {
		err = o.get("memory").optInt(&t.Memory, 1, 100, "must be a percentage between 1 and 100")
	}
	return t, err
}
