package render

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/yaml"

	"github.com/slipway-dev/slipway/model"
)

// convoxInput is twoServices with what real convox.yml files add: web has
// domains, https, autoscaling, limits, probes, hooks, volumes, a resource,
// an extra port, a timer and a balancer; worker is an agent that reads
// the node.
func convoxInput(t *testing.T) Input {
	t.Helper()
	in := testInput(t)
	m := in.Manifest
	web, worker := &m.Services[0], &m.Services[1]
	web.Scheme = "https"
	web.Domains = []string{"shop.example.org", "*.shop.example.org"}
	web.TLS.Redirect = true
	web.Timeout, web.Sticky, web.Whitelist = 120, true, []string{"10.0.0.0/8"}
	web.IngressAnnotations = map[string]string{"example.com/team": "a"}
	web.Scale.Max, web.Scale.Targets.CPU = 6, 60
	web.Scale.Limit = model.ScaleLimit{CPU: 1000, Memory: 2048}
	web.Liveness = &model.Probe{Path: "/live", Grace: 10, Interval: 5, Timeout: 5, SuccessThreshold: 1, FailureThreshold: 3}
	web.Lifecycle.PreStop = "sleep 5"
	web.Volumes = []model.Volume{{Path: "/tmp/cache"}, {Name: "uploads", Path: "/uploads"}}
	web.Resources = []string{"main-db"}
	web.Ports = []model.ServicePort{{Port: 9000, Protocol: "UDP"}}
	worker.Agent, worker.Privileged, worker.Init = true, true, true
	worker.Volumes = []model.Volume{{Host: "/proc", Path: "/host/proc"}}
	m.Resources = []model.Resource{{Name: "main-db", Type: "postgres", Options: map[string]string{"version": "15", "storage": "20"}}}
	m.Timers = []model.Timer{{Name: "cleanup", Schedule: "0 3 * * *", Command: "bin/cleanup --all", Service: "web", Concurrency: "Forbid", Parallel: 1}}
	m.Balancers = []model.Balancer{{Name: "tcp", Service: "web", Ports: []model.BalancerPort{{Source: 443, Target: 5000, Protocol: "TCP"}}}}
	return in
}

func renderOne(t *testing.T, in Input, name string) Service {
	t.Helper()
	out, err := Release(in)
	if err != nil {
		t.Fatalf("Release: %v", err)
	}
	for _, s := range out {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no service %s rendered", name)
	return Service{}
}

func TestRenderIngress(t *testing.T) {
	var ing networkingv1.Ingress
	decode(t, renderOne(t, convoxInput(t), "web").Ingress, &ing)
	if c := ing.Spec.IngressClassName; c == nil || *c != "nginx" {
		t.Errorf("ingress class %v, want nginx", c)
	}
	var hosts []string
	for _, r := range ing.Spec.Rules {
		hosts = append(hosts, r.Host)
		if b := r.HTTP.Paths[0].Backend.Service; b.Name != "web" || b.Port.Name != "main" {
			t.Errorf("rule %s goes to %+v, want web's main port", r.Host, b)
		}
	}
	if strings.Join(hosts, ",") != "shop.example.org,*.shop.example.org" {
		t.Errorf("hosts %v", hosts)
	}
	if len(ing.Spec.TLS) != 1 || ing.Spec.TLS[0].SecretName != "web-tls" || len(ing.Spec.TLS[0].Hosts) != 2 {
		t.Errorf("tls %+v, want both hosts in web-tls", ing.Spec.TLS)
	}
	for k, want := range map[string]string{
		annBackendProtocol: "HTTPS", annSSLRedirect: "true", annReadTimeout: "120", annAffinity: "cookie",
		annWhitelist: "10.0.0.0/8", "example.com/team": "a",
	} {
		if got := ing.Annotations[k]; got != want {
			t.Errorf("annotation %s = %q, want %q", k, got, want)
		}
	}

	// No domains, or internal without the internal router: no Ingress.
	in := convoxInput(t)
	in.Manifest.Services[0].Domains = nil
	if renderOne(t, in, "web").Ingress != nil {
		t.Error("a service without domains has an Ingress")
	}
	in = convoxInput(t)
	in.Manifest.Services[0].Internal = true
	if renderOne(t, in, "web").Ingress != nil {
		t.Error("an internal service has an Ingress")
	}
	in.Manifest.Services[0].InternalRouter = true
	in.Ingress = IngressClasses{Public: "public", Internal: "private"}
	decode(t, renderOne(t, in, "web").Ingress, &ing)
	if *ing.Spec.IngressClassName != "private" {
		t.Errorf("an internalRouter service's class %s, want the rack's internal class", *ing.Spec.IngressClassName)
	}
}

func TestRenderAutoscaler(t *testing.T) {
	in := convoxInput(t)
	in.Replicas = map[string]int32{"web": 9} // above the new maximum
	s := renderOne(t, in, "web")
	var hpa autoscalingv2.HorizontalPodAutoscaler
	decode(t, s.Autoscaler, &hpa)
	if *hpa.Spec.MinReplicas != 3 || hpa.Spec.MaxReplicas != 6 || hpa.Spec.ScaleTargetRef.Name != "web" || hpa.Spec.ScaleTargetRef.Kind != "Deployment" {
		t.Errorf("autoscaler %+v, want web between 3 and 6", hpa.Spec)
	}
	if len(hpa.Spec.Metrics) != 1 || *hpa.Spec.Metrics[0].Resource.Target.AverageUtilization != 60 || hpa.Spec.Metrics[0].Resource.Name != corev1.ResourceCPU {
		t.Errorf("metrics %+v, want cpu at 60%%", hpa.Spec.Metrics)
	}
	var d appsv1.Deployment
	decode(t, s.Deployment, &d)
	if *d.Spec.Replicas != 6 {
		t.Errorf("replicas %d, want the running 9 brought inside the bounds (6)", *d.Spec.Replicas)
	}
	c := d.Spec.Template.Spec.Containers[0]
	if c.Resources.Limits.Cpu().MilliValue() != 1000 || c.Resources.Limits.Memory().Value() != 2048<<20 {
		t.Errorf("limits %v", c.Resources.Limits)
	}
	in.Manifest.Services[0].Scale.Max = 3
	if renderOne(t, in, "web").Autoscaler != nil {
		t.Error("a fixed count has an autoscaler")
	}
}

func TestRenderProcess(t *testing.T) {
	var d appsv1.Deployment
	decode(t, renderOne(t, convoxInput(t), "web").Deployment, &d)
	spec := d.Spec.Template.Spec
	c := spec.Containers[0]
	if p := c.LivenessProbe; p == nil || p.HTTPGet.Path != "/live" || p.HTTPGet.Port.IntValue() != 5000 || p.FailureThreshold != 3 {
		t.Errorf("liveness %+v", p)
	}
	if p := c.ReadinessProbe; p == nil || p.HTTPGet.Scheme != corev1.URISchemeHTTPS {
		t.Errorf("readiness %+v, want HTTPS for an https service", p)
	}
	if h := c.Lifecycle; h == nil || strings.Join(h.PreStop.Exec.Command, " ") != "sh -c sleep 5" {
		t.Errorf("lifecycle %+v", h)
	}
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = m.Name
	}
	vols := map[string]corev1.VolumeSource{}
	for _, v := range spec.Volumes {
		vols[v.Name] = v.VolumeSource
	}
	if v := vols[mounts["/tmp/cache"]]; v.EmptyDir == nil {
		t.Errorf("/tmp/cache is %+v, want a scratch directory", v)
	}
	if v := vols[mounts["/uploads"]]; v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != "volume-uploads" {
		t.Errorf("/uploads is %+v, want the shared claim volume-uploads", v)
	}
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	if e := env["MAIN_DB_URL"]; e.ValueFrom == nil || e.ValueFrom.SecretKeyRef.Name != "resource-main-db" || e.ValueFrom.SecretKeyRef.Key != "URL" {
		t.Errorf("MAIN_DB_URL %+v, want the resource's Secret", e)
	}
	if len(c.Ports) != 2 || c.Ports[1].Protocol != corev1.ProtocolUDP || c.Ports[1].ContainerPort != 9000 {
		t.Errorf("ports %+v, want main and 9000/udp", c.Ports)
	}

	// The release env sets a resource's key: it wins.
	in := convoxInput(t)
	in.Env = in.Env.Clone()
	in.Env["MAIN_DB_URL"] = "postgres://elsewhere/db"
	decode(t, renderOne(t, in, "web").Deployment, &d)
	for _, e := range d.Spec.Template.Spec.Containers[0].Env {
		if e.Name == "MAIN_DB_URL" {
			t.Errorf("MAIN_DB_URL from %+v, want the release env's value only", e.ValueFrom)
		}
	}

	// A singleton is replaced, never rolled two at a time.
	in = convoxInput(t)
	in.Manifest.Services[0].Singleton = true
	decode(t, renderOne(t, in, "web").Deployment, &d)
	if d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType || *d.Spec.Replicas != 1 {
		t.Errorf("singleton: %s with %d replicas, want Recreate with 1", d.Spec.Strategy.Type, *d.Spec.Replicas)
	}
}

func TestRenderAgent(t *testing.T) {
	s := renderOne(t, convoxInput(t), "worker")
	if s.Deployment != nil || s.DaemonSet == nil || s.Kind() != "DaemonSet" {
		t.Fatalf("agent rendered as %s (deployment %v)", s.Kind(), s.Deployment != nil)
	}
	var ds appsv1.DaemonSet
	decode(t, s.DaemonSet, &ds)
	spec := ds.Spec.Template.Spec
	if sc := spec.Containers[0].SecurityContext; sc == nil || !*sc.Privileged {
		t.Error("privileged agent runs unprivileged")
	}
	if spec.ShareProcessNamespace == nil || !*spec.ShareProcessNamespace {
		t.Error("init: the process namespace is not shared")
	}
	if len(spec.Volumes) != 1 || spec.Volumes[0].HostPath == nil || spec.Volumes[0].HostPath.Path != "/proc" {
		t.Errorf("volumes %+v, want the node's /proc", spec.Volumes)
	}
	if ds.Spec.Selector.MatchLabels[LabelService] != "worker" || ds.Spec.Template.Labels[LabelRelease] != "RBCDEFGHIJK" {
		t.Errorf("selector %v, template labels %v", ds.Spec.Selector.MatchLabels, ds.Spec.Template.Labels)
	}
}

func TestRenderTimer(t *testing.T) {
	s := renderOne(t, convoxInput(t), "web")
	if len(s.Timers) != 1 {
		t.Fatalf("%d timers, want 1", len(s.Timers))
	}
	var cj batchv1.CronJob
	decode(t, s.Timers[0], &cj)
	pod := cj.Spec.JobTemplate.Spec.Template
	c := pod.Spec.Containers[0]
	if cj.Name != "timer-cleanup" || cj.Spec.Schedule != "0 3 * * *" || cj.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent {
		t.Errorf("cronjob %s %q %s", cj.Name, cj.Spec.Schedule, cj.Spec.ConcurrencyPolicy)
	}
	if c.Image != "reg:5000/myapp@sha256:0123" || strings.Join(c.Args, " ") != "bin/cleanup --all" || c.EnvFrom[0].SecretRef.Name != "web-env-rbcdefghijk" {
		t.Errorf("timer container %s %v %v, want web's image and env", c.Image, c.Args, c.EnvFrom)
	}
	// Its pods must not be adopted by web's Deployment, whose selector is
	// app and service.
	if _, ok := pod.Labels[LabelService]; ok || pod.Labels[LabelTimer] != "cleanup" {
		t.Errorf("timer pod labels %v", pod.Labels)
	}
}

func TestRenderBalancer(t *testing.T) {
	s := renderOne(t, convoxInput(t), "web")
	if len(s.Balancers) != 1 {
		t.Fatalf("%d balancers, want 1", len(s.Balancers))
	}
	var svc corev1.Service
	decode(t, s.Balancers[0], &svc)
	if svc.Name != "balancer-tcp" || svc.Spec.Type != corev1.ServiceTypeLoadBalancer || svc.Spec.Ports[0].Port != 443 || svc.Spec.Ports[0].TargetPort.IntValue() != 5000 {
		t.Errorf("balancer %+v", svc.Spec)
	}
	in := convoxInput(t)
	in.Manifest.Balancers[0].Name = "x"
	in.Manifest.Services[0].Name = "balancer-x" // still sorted: the manifest keeps services in name order
	if _, err := Release(in); err == nil || !strings.Contains(err.Error(), "rename the balancer") {
		t.Errorf("a balancer named like a service: %v", err)
	}
}

func TestRenderResources(t *testing.T) {
	in := convoxInput(t)
	rs, err := Resources(in)
	if err != nil || len(rs) != 1 {
		t.Fatalf("Resources: %d, %v", len(rs), err)
	}
	var ss appsv1.StatefulSet
	decode(t, rs[0].StatefulSet, &ss)
	c := ss.Spec.Template.Spec.Containers[0]
	if ss.Name != "resource-main-db" || c.Image != "postgres:15" || ss.Labels[LabelResource] != "main-db" {
		t.Errorf("statefulset %s image %s labels %v", ss.Name, c.Image, ss.Labels)
	}
	if _, ok := ss.Labels[LabelRelease]; ok {
		t.Error("a resource carries a release label: a prune would take it")
	}
	if len(ss.Spec.VolumeClaimTemplates) != 1 || ss.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests.Storage().Value() != 20<<30 {
		t.Errorf("claims %+v, want 20 GB", ss.Spec.VolumeClaimTemplates)
	}
	sec, err := ResourceSecret(in, in.Manifest.Resources[0], "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := sec.StringData["URL"], "postgres://app:s3cret@resource-main-db.dev-myapp.svc.cluster.local:5432/app"; got != want {
		t.Errorf("URL %s, want %s", got, want)
	}
	in.Manifest.Resources[0].Type = "rds-postgres"
	if _, err := Resources(in); err == nil {
		t.Error("a managed type rendered")
	}
	if claims := VolumeClaims(convoxInput(t)); len(claims) != 1 || claims[0].Name != "volume-uploads" {
		t.Errorf("claims %v, want volume-uploads", claims)
	}
}

// Golden files of every object of convoxInput, in the order applied.
func TestRenderConvoxGolden(t *testing.T) {
	in := convoxInput(t)
	out, err := Release(in)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := Resources(in)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]any{}
	for _, s := range out {
		files["convox-"+s.Name] = s.Objects()
	}
	for _, r := range rs {
		files["convox-resource-"+r.Name] = []any{r.Service, r.StatefulSet}
	}
	for name, objs := range files {
		var docs []string
		for _, o := range objs {
			b, err := yaml.Marshal(o)
			if err != nil {
				t.Fatal(err)
			}
			docs = append(docs, string(b))
		}
		golden(t, filepath.Join("testdata", name+".yaml"), []byte(strings.Join(docs, "---\n")))
	}
}

func TestEndpoints(t *testing.T) {
	in := convoxInput(t)
	got := Endpoints(in.Manifest, in.Namespace)
	want := []Endpoint{
		{Service: "web", Domain: "shop.example.org,*.shop.example.org", Ports: []string{"443:5000", "9000/udp", "balancer 443:5000"}},
		{Service: "worker"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Endpoints =\n%+v\nwant\n%+v", got, want)
	}
	in.Manifest.Services[0].Internal = true
	if e := Endpoints(in.Manifest, in.Namespace)[0]; e.Domain != "web.dev-myapp.svc.cluster.local" || e.Ports[0] != "5000" {
		t.Errorf("internal web: %+v, want its cluster name and port", e)
	}
}
