package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"gocloud.dev/blob"

	"github.com/slipway-dev/slipway/builder"
	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/records"
)

// Builders a build can use.
const (
	BuilderLocal      = "local"
	BuilderKubernetes = "kubernetes"
)

// jobDeadline bounds one service's in-cluster build.
const jobDeadline = time.Hour

// buildInCluster builds one service as a Kubernetes Job (see
// builder.JobSpec), streams its log into the build log, and returns the
// pushed image's digest. The Job is deleted when the build ends.
//
// The Job's source is the tarball that PrepareBuild checked (the pod
// verifies its SHA-256 before unpacking), and its build args' values are
// in a Secret owned by the Job, referenced by name from the pod's env: no
// value is in the Job's spec, and the Secret goes when the Job does.
func (a *Activities) buildInCluster(ctx context.Context, log io.Writer, b *records.Build, svc model.Service, target name.Reference, args map[string]string, sourceSHA256 string) (string, error) {
	url, err := a.Blobs.SignedURL(ctx, b.Spec.Source, &blob.SignedURLOptions{Expiry: jobDeadline})
	if err != nil {
		return "", fmt.Errorf("the kubernetes builder needs a blob store that signs URLs (oci:// on a registry that allows anonymous pull or redirects blobs to signed storage URLs, or file:// with base_url): %v", err)
	}
	jobs := a.Store.Core.BatchV1().Jobs(b.Namespace)
	jobName := truncate("build-"+records.ObjectName(b.Spec.ID)+"-"+svc.Name, 63)
	labels := map[string]string{model.LabelApp: b.Spec.App, model.LabelBuild: b.Spec.ID, model.LabelService: svc.Name}
	secretName := truncate(jobName, 58) + "-args"
	// The Secret comes first so the pod never waits for it; it is made the
	// Job's once the Job exists (a retry finds both and fixes the owner).
	secrets := a.Store.Core.CoreV1().Secrets(b.Namespace)
	sec := builder.ArgsSecret(b.Namespace, secretName, args, labels)
	if _, err := secrets.Create(ctx, sec, metav1.CreateOptions{}); apierrors.IsAlreadyExists(err) {
		// A retry: the args are the same, but say so rather than trust it.
		patch, _ := json.Marshal([]map[string]any{{"op": "add", "path": "/data", "value": sec.Data}})
		if _, err := secrets.Patch(ctx, secretName, types.JSONPatchType, patch, metav1.PatchOptions{}); err != nil {
			return "", err
		}
	} else if err != nil {
		return "", err
	}
	job := builder.JobSpec(builder.JobInput{
		Namespace: b.Namespace, Name: jobName,
		JobImage: a.JobImage, FetchImage: a.FetchImage, SourceURL: url, SourceSHA256: sourceSHA256,
		ContextPath: svc.Build.Path, Dockerfile: svc.Build.Manifest, Destination: target.Name(),
		ArgsSecret: secretName, ArgKeys: slices.Collect(maps.Keys(args)),
		Labels: labels, Deadline: int64(jobDeadline / time.Second),
	})
	created, err := jobs.Create(ctx, job, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		created, err = jobs.Get(ctx, jobName, metav1.GetOptions{})
	}
	if err != nil {
		_ = secrets.Delete(context.WithoutCancel(ctx), secretName, metav1.DeleteOptions{})
		return "", err
	}
	defer func() {
		bg := metav1.DeletePropagationBackground
		_ = jobs.Delete(context.WithoutCancel(ctx), jobName, metav1.DeleteOptions{PropagationPolicy: &bg})
		// The garbage collector would remove it with its Job; deleting it
		// now also covers clusters where it runs late.
		_ = secrets.Delete(context.WithoutCancel(ctx), secretName, metav1.DeleteOptions{})
	}()
	owner := metav1.OwnerReference{APIVersion: "batch/v1", Kind: "Job", Name: jobName, UID: created.UID, Controller: ptr.To(true)}
	if err := ownSecret(ctx, a, b.Namespace, secretName, owner); err != nil {
		return "", err
	}
	fmt.Fprintf(log, "%s: build Job %s started (%s)\n", svc.Name, jobName, a.JobImage)
	done, err := a.waitJob(ctx, log, b.Namespace, jobName)
	if err != nil {
		return "", err
	}
	if !done.ok {
		return "", fmt.Errorf("build Job %s failed: %s", jobName, done.why)
	}
	desc, err := remote.Head(target, append(a.registries().Options(), remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain))...)
	if err != nil {
		return "", fmt.Errorf("build Job %s ended without pushing %s: check the builder image and its registry credentials", jobName, target.Name())
	}
	fmt.Fprintf(log, "%s: pushed %s@%s\n", svc.Name, target.Name(), desc.Digest)
	return desc.Digest.String(), nil
}

// ownSecret makes the Job the owner of its args Secret, so that the
// Secret goes with the Job (also when its TTL removes it).
// A merge patch (the worker may patch Secrets, not update them) replaces
// the list whole.
func ownSecret(ctx context.Context, a *Activities, ns, name string, owner metav1.OwnerReference) error {
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"ownerReferences": []metav1.OwnerReference{owner}}})
	_, err := a.Store.Core.CoreV1().Secrets(ns).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{})
	return err
}

type jobEnd struct {
	ok  bool
	why string
}

// waitJob watches the Job until it completes or fails, heartbeating, and
// copies its builder's log lines into the build log once the pod runs.
func (a *Activities) waitJob(ctx context.Context, log io.Writer, ns, name string) (jobEnd, error) {
	stop := heartbeatEvery(ctx, 2*time.Second)
	defer stop()
	var end jobEnd
	logging := false
	jobs := a.Store.Core.BatchV1().Jobs(ns)
	err := untilOne(ctx, a.Store.Core, &batchv1.Job{}, ns, name, errors.New("build Job "+name+" disappeared"), jobs.List, jobs.Watch, func(j *batchv1.Job) bool {
		var over bool
		if end, over = jobOver(j); over {
			return true
		}
		if !logging && j.Status.Active > 0 {
			logging = true
			// The activity's context: the log may still be flowing
			// when the Job ends.
			go a.streamJobLog(ctx, log, ns, name)
		}
		return false
	})
	if err != nil {
		return jobEnd{}, err
	}
	return end, nil
}

func jobOver(j *batchv1.Job) (jobEnd, bool) {
	for _, c := range j.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete:
			return jobEnd{ok: true}, true
		case batchv1.JobFailed:
			return jobEnd{why: strings.TrimSpace(c.Reason + ": " + c.Message)}, true
		}
	}
	return jobEnd{}, false
}

// streamJobLog follows the builder container's log; clusters whose nodes
// keep no logs (kwok's) simply show none.
func (a *Activities) streamJobLog(ctx context.Context, log io.Writer, ns, job string) {
	pods, err := a.Store.Core.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "job-name=" + job})
	if err != nil || len(pods.Items) == 0 {
		return
	}
	rc, err := a.Store.Core.CoreV1().Pods(ns).GetLogs(pods.Items[0].Name, &corev1.PodLogOptions{Container: "build", Follow: true}).Stream(ctx)
	if err != nil {
		return
	}
	defer rc.Close()
	_, _ = io.Copy(log, rc)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return strings.TrimRight(s[:n], "-")
	}
	return s
}
