package scale

import (
	"slices"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/model"
)

// Row is one service's scale, as the table and `-o json` show it: CPU in
// millicores and memory in MB that each process requests.
type Row struct {
	Service string `json:"service"`
	Desired int32  `json:"desired"`
	Running int32  `json:"running"`
	CPU     int64  `json:"cpu"`
	Memory  int64  `json:"memory"`
}

// Rows reads the services' scale from their Deployments, sorted by
// service: desired is spec.replicas, running the ready replicas. What runs
// beside a service's own Deployment for a while (a canary, a kept
// release) is not a service, and not scaled by hand.
func Rows(deps []appsv1.Deployment) []Row {
	out := make([]Row, 0, len(deps))
	for _, d := range deps {
		if d.Labels[model.LabelTrack] != "" {
			continue
		}
		r := Row{Service: d.Labels[model.LabelService], Running: d.Status.ReadyReplicas}
		if r.Service == "" {
			r.Service = d.Name
		}
		if d.Spec.Replicas != nil {
			r.Desired = *d.Spec.Replicas
		}
		if cs := d.Spec.Template.Spec.Containers; len(cs) > 0 {
			r.CPU = cs[0].Resources.Requests.Cpu().MilliValue()
			r.Memory = cs[0].Resources.Requests.Memory().Value() >> 20
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b Row) int { return strings.Compare(a.Service, b.Service) })
	return out
}

// Table is Convox's scale table.
func Table(rows []Row) *cmdutil.Table {
	t := cmdutil.NewTable("SERVICE", "DESIRED", "RUNNING", "CPU", "MEMORY")
	for _, r := range rows {
		t.Add(r.Service, itoa(int64(r.Desired)), itoa(int64(r.Running)), itoa(r.CPU), itoa(r.Memory))
	}
	return t
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
