package model

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Step is one step of a staged rollout (`deployment.steps`), run in order
// before the rolling update of the rest of the service. Exactly one of its
// fields is set.
type Step struct {
	// Replicas runs the new release on this percent (1..100) of the
	// service's count, beside the old.
	Replicas int `json:"replicas,omitempty"`
	// Pause waits this long; Manual waits until someone continues the
	// promotion.
	Pause  time.Duration `json:"pause,omitempty"`
	Manual bool          `json:"manual,omitempty"`
	Check  *Check        `json:"check,omitempty"`
}

// Check is an HTTP GET of the service, repeated for For: every answer must
// have the status Expect.
type Check struct {
	HTTP   string        `json:"http"`
	Expect int           `json:"expect"`
	For    time.Duration `json:"for,omitempty"`
}

// Limits of a staged rollout's steps.
const (
	MaxStepDuration     = 24 * time.Hour
	DefaultCheckExpect  = 200
	DefaultCheckTimeout = 5 * time.Second
)

// String is the step as `promotions info` shows it: "replicas 20%",
// "pause 1m0s", "manual pause", "check /health/deep answers 200 for 30s".
func (s Step) String() string {
	switch {
	case s.Replicas > 0:
		return fmt.Sprintf("replicas %d%%", s.Replicas)
	case s.Manual:
		return "manual pause"
	case s.Pause > 0:
		return "pause " + s.Pause.String()
	case s.Check != nil:
		out := fmt.Sprintf("check %s answers %d", s.Check.HTTP, s.Check.Expect)
		if s.Check.For > 0 {
			out += " for " + s.Check.For.String()
		}
		return out
	}
	return "empty step"
}

var (
	stepFields  = fields{known: []string{"check", "pause", "replicas"}}
	checkFields = fields{known: []string{"expect", "for", "http"}}
)

// parseSteps reads deployment.steps. A step slipway cannot run is an error,
// not a warning: skipping a pause or a check would roll further than the
// manifest's author allowed.
func parseSteps(v val, s *Service) ([]Step, error) {
	items, err := v.items("a list of steps like {replicas: 20%}, {pause: 60s}, {pause: manual} or {check: {http: /health}}")
	if err != nil || len(items) == 0 {
		return nil, err
	}
	switch {
	case s.Agent:
		return nil, v.errorf("an agent runs one process per node and cannot run a new release beside the old: remove steps, or drop agent")
	case s.Singleton:
		return nil, v.errorf("a singleton never runs two processes side by side: remove steps, or drop singleton")
	}
	out := make([]Step, 0, len(items))
	for _, it := range items {
		st, err := parseStep(it, s)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

func parseStep(v val, s *Service) (Step, error) {
	ms, err := v.members("a map like {replicas: 20%}, {pause: 60s}, {pause: manual} or {check: {http: /health}}")
	if err != nil {
		return Step{}, err
	}
	if len(ms) != 1 {
		return Step{}, v.errorf("a step has one key, replicas, pause or check, not %d: write one step per item", len(ms))
	}
	m := ms[0]
	var st Step
	switch m.key {
	case "replicas":
		st.Replicas, err = percent(m.val)
	case "pause":
		if m.kind() == kString && strings.EqualFold(m.n.Value, "manual") {
			st.Manual = true
		} else {
			st.Pause, err = duration(m.val, "a duration like 60s or 5m, or manual")
		}
	case "check":
		st.Check, err = parseCheck(m.val, s)
	default:
		msg := "unknown step: use replicas, pause or check"
		if sg := suggest(m.key, stepFields.known); sg != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", sg)
		}
		return Step{}, m.literalErrorf("%s", msg)
	}
	return st, err
}

// percent reads "20%" or 20, a whole percentage in 1..100.
func percent(v val) (int, error) {
	const msg = "must be a percentage between 1 and 100, like 20%"
	var text string
	switch v.kind() {
	case kNumber, kString:
		text = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v.n.Value), "%"))
	default:
		return 0, v.errorf("%s", msg)
	}
	n, err := strconv.Atoi(text)
	if err != nil || n < 1 || n > 100 {
		return 0, v.errorf("%s", msg)
	}
	return n, nil
}

// duration reads a Go duration ("60s", "1m30s") or a number of seconds,
// between a second and MaxStepDuration.
func duration(v val, what string) (time.Duration, error) {
	msg := fmt.Sprintf("must be %s, between 1s and %s", what, "24h")
	var d time.Duration
	switch v.kind() {
	case kNumber:
		f, ok := number(v.n)
		if !ok {
			return 0, v.errorf("%s", msg)
		}
		d = time.Duration(f * float64(time.Second))
	case kString:
		var err error
		if d, err = time.ParseDuration(strings.TrimSpace(v.n.Value)); err != nil {
			return 0, v.errorf("%s", msg)
		}
	default:
		return 0, v.errorf("%s", msg)
	}
	if d < time.Second || d > MaxStepDuration {
		return 0, v.errorf("%s", msg)
	}
	return d, nil
}

func parseCheck(v val, s *Service) (*Check, error) {
	o, err := v.object("a map like {http: /health, expect: 200, for: 30s}", checkFields)
	if err != nil {
		return nil, err
	}
	if s.Port == 0 {
		return nil, v.errorf("services.%s has no port to send the check to: add a port, or remove the check", s.Name)
	}
	c := &Check{Expect: DefaultCheckExpect}
	h := o.get("http")
	if h.kind() == kNull {
		return nil, h.errorf("is required: the path to GET, like /health")
	}
	if c.HTTP, err = h.str("a path like /health"); err != nil {
		return nil, err
	}
	if !strings.HasPrefix(c.HTTP, "/") {
		return nil, h.errorf("must be a path that starts with /, like /health")
	}
	if err := o.get("expect").optInt(&c.Expect, 100, 599, "must be an HTTP status between 100 and 599, like 200"); err != nil {
		return nil, err
	}
	if f := o.get("for"); f.kind() != kNull {
		if c.For, err = duration(f, "a duration like 30s"); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// deploymentSteps reads the steps of a service's deployment map (which
// parseDeployment has read and warned about already).
func deploymentSteps(v val, s *Service) ([]Step, error) {
	if v.kind() != kMap {
		return nil, nil
	}
	ms, err := v.members("")
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		if m.key == "steps" {
			return parseSteps(m.val, s)
		}
	}
	return nil, nil
}
