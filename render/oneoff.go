package render

import (
	"encoding/json"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway-dev/slipway/model"
)

// LabelRun marks a one-off process (`slipway run`) and names its service.
// A one-off pod carries it instead of LabelService, on purpose: every
// Deployment's selector (and its ReplicaSets', which adopt any orphan pod
// they match) is app + service, and so are the Services' and the rollout
// watch's, so a pod without LabelService is never adopted, counted, sent
// traffic or judged by a promotion, whatever its release.
const LabelRun = "slipway.dev/run"

// OneOff is a one-off process of a service: the pod and the Secret holding
// its env, both named Name. The Secret is the pod's own (the pod owns it
// once created, so it goes with the pod): the release's env Secrets exist
// only while the release is promoted, and a promotion prunes them.
type OneOff struct {
	Input
	Service string
	Name    string
	// Args replace the image's command, as a manifest command does.
	Args []string
	// Deadline is the pod's activeDeadlineSeconds: the cluster ends the
	// process then, whoever waits for it (0: none).
	Deadline int64
}

// OneOffPod is the pod of a one-off process: the pod template the
// service's workload runs (image, env, resources, volumes, init
// container, node selector), with the one-off's command, run once.
func OneOffPod(o OneOff) (*corev1.Pod, error) {
	svc, err := o.service()
	if err != nil {
		return nil, err
	}
	image := o.Images[svc.Name]
	if image == "" {
		image = svc.Image
	}
	if image == "" {
		return nil, fmt.Errorf("services.%s: release %s has no image for it: build again", svc.Name, o.Release)
	}
	tmpl, err := podTemplate(o.Input, svc, image, o.Args, o.Name)
	if err != nil {
		return nil, err
	}
	// An apply configuration is the object's JSON with only the fields
	// set: the typed pod is the same JSON read back.
	b, err := json.Marshal(tmpl)
	if err != nil {
		return nil, err
	}
	var pt corev1.PodTemplateSpec
	if err := json.Unmarshal(b, &pt); err != nil {
		return nil, err
	}
	p := &corev1.Pod{ObjectMeta: pt.ObjectMeta, Spec: pt.Spec}
	p.Name, p.Namespace = o.Name, o.Namespace
	delete(p.Labels, LabelService)
	p.Labels[LabelRun] = o.Service
	for i := range p.Spec.Containers {
		// No Service sends it traffic and nothing waits for it to be
		// ready: a one-off process is not probed.
		c := &p.Spec.Containers[i]
		c.ReadinessProbe, c.LivenessProbe, c.StartupProbe, c.Ports = nil, nil, nil, nil
	}
	p.Spec.RestartPolicy = corev1.RestartPolicyNever
	if o.Deadline > 0 {
		p.Spec.ActiveDeadlineSeconds = &o.Deadline
	}
	return p, nil
}

// OneOffSecret is the env of a one-off process, owned by its pod (which
// must have been created: the owner reference needs its UID).
func OneOffSecret(o OneOff, pod *corev1.Pod) (*corev1.Secret, error) {
	svc, err := o.service()
	if err != nil {
		return nil, err
	}
	env := Env(o.Input, svc)
	data := make(map[string][]byte, len(env))
	for k, v := range env {
		data[k] = []byte(v)
	}
	// No LabelManagedBy: a promotion's prune deletes the env Secrets of
	// other releases by that label, and this one lives as long as its pod.
	labels := o.labels()
	delete(labels, LabelManagedBy)
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name: o.Name, Namespace: o.Namespace, Labels: labels,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Pod", Name: pod.Name, UID: pod.UID}},
		},
		Type: corev1.SecretTypeOpaque,
		Data: data,
	}, nil
}

func (o OneOff) labels() map[string]string {
	return map[string]string{
		LabelApp: o.App, LabelRun: o.Service, LabelRelease: o.Release, LabelBuild: o.Build, LabelManagedBy: "slipway",
	}
}

// service is the manifest's service, checked as a promotion checks it.
func (o OneOff) service() (model.Service, error) {
	if err := o.Manifest.CheckEnv(o.Env); err != nil {
		return model.Service{}, err
	}
	for _, s := range o.Manifest.Services {
		if s.Name == o.Service {
			return s, nil
		}
	}
	names := make([]string, 0, len(o.Manifest.Services))
	for _, s := range o.Manifest.Services {
		names = append(names, s.Name)
	}
	return model.Service{}, fmt.Errorf("no such service: %s (release %s has %v)", o.Service, o.Release, names)
}

// Pinned is ref by digest (repository@digest), whatever tag or digest ref
// had, as promotions run a build's images: a moved tag never changes what
// runs. Both parts are checked, so a damaged build record fails here.
func Pinned(ref, digest string) (string, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return "", err
	}
	d, err := name.NewDigest(r.Context().Name() + "@" + digest)
	if err != nil {
		return "", err
	}
	return d.String(), nil
}
