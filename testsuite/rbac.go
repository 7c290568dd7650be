package testsuite

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/slipway-dev/slipway/config"
	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/rbac"
)

// WorkerKubeconfig mints a token for the rack's worker ServiceAccount
// (which `slipway system install` makes) with the TokenRequest API and
// writes a kubeconfig that authenticates with that token only, so whatever
// uses it has exactly the worker's RBAC rights.
func (s *Stack) WorkerKubeconfig(t testing.TB) string {
	t.Helper()
	return s.TokenKubeconfig(t, model.SystemNamespace(s.Settings.Rack), rbac.ServiceAccount)
}

// PersonKubeconfig is a kubeconfig for another person who runs the CLI
// with the same rights as the stack's own user (cluster-admin), under
// another name: a ServiceAccount called name in namespace default, so
// commands run with it act as system:serviceaccount:default:name.
func (s *Stack) PersonKubeconfig(t testing.TB, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ns := metav1.NamespaceDefault
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	if _, err := s.Kube.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	b := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "slipway-test-" + name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: name, Namespace: ns}},
	}
	if _, err := s.Kube.RbacV1().ClusterRoleBindings().Create(ctx, b, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	return s.TokenKubeconfig(t, ns, name)
}

// TokenKubeconfig mints a token for the ServiceAccount ns/name with the
// TokenRequest API and writes a kubeconfig that authenticates with that
// token only.
func (s *Stack) TokenKubeconfig(t testing.TB, ns, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ttl := int64(time.Hour / time.Second)
	tr, err := s.Kube.CoreV1().ServiceAccounts(ns).CreateToken(ctx, name,
		&authnv1.TokenRequest{Spec: authnv1.TokenRequestSpec{ExpirationSeconds: &ttl}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("token for ServiceAccount %s/%s (for the worker's, run `slipway system install` first): %v", ns, name, err)
	}
	rc, err := s.Settings.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	cluster := &clientcmdapi.Cluster{Server: rc.Host, CertificateAuthorityData: rc.CAData, InsecureSkipTLSVerify: rc.Insecure}
	if len(rc.CAData) == 0 && rc.CAFile != "" {
		if cluster.CertificateAuthorityData, err = os.ReadFile(rc.CAFile); err != nil {
			t.Fatal(err)
		}
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["stack"] = cluster
	cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: tr.Status.Token}
	cfg.Contexts[name] = &clientcmdapi.Context{Cluster: "stack", AuthInfo: name}
	cfg.CurrentContext = name
	path := filepath.Join(t.TempDir(), name+".kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// KubeFor is a Kubernetes client that uses a kubeconfig file.
func KubeFor(t testing.TB, kubeconfig string) kubernetes.Interface {
	t.Helper()
	rc, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	c, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// CanI asks the API server, as the client's own identity, whether it may
// do verb on group/resource in namespace (a SelfSubjectAccessReview, what
// `kubectl auth can-i` sends).
func CanI(t testing.TB, c kubernetes.Interface, verb, group, resource, namespace string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := c.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authzv1.SelfSubjectAccessReview{
		Spec: authzv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authzv1.ResourceAttributes{
			Verb: verb, Group: group, Resource: resource, Namespace: namespace,
		}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return r.Status.Allowed
}

// StartExtraWorker starts another `slipway worker` against the stack with
// extra environment (KUBECONFIG=... to run it as someone else), waits
// until Temporal sees it poll, and stops it when the test ends. Its log
// is in the test's temporary folder, printed if the test fails.
func (s *Stack) StartExtraWorker(t testing.TB, env ...string) {
	t.Helper()
	s.StartExtraWorkerArgs(t, nil, env...)
}

// ExtraWorker is a worker that StartExtraWorkerArgs started.
type ExtraWorker struct {
	// Identity is the Temporal identity it polls with ("PID@").
	Identity  string
	terminate func(within time.Duration) error
}

// Terminate sends the worker SIGTERM and waits up to within for it to
// exit; it returns how it exited (nil: status 0), or an error if it did
// not exit in time (it is then killed).
func (w *ExtraWorker) Terminate(within time.Duration) error { return w.terminate(within) }

// StartExtraWorkerArgs is StartExtraWorker with more arguments for
// `slipway worker` (--listen ADDR).
func (s *Stack) StartExtraWorkerArgs(t testing.TB, args []string, env ...string) *ExtraWorker {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), "worker.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(s.Slipway, append([]string{"worker"}, args...)...)
	cmd.Dir = s.Home
	cmd.Env = append(append(os.Environ(), "SLIPWAY_HOME="+s.Home), env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Its own process group, so stopping it stops nothing else; and it
	// dies with this test binary.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// One goroutine waits for the worker, so the wait below sees at once
	// if it dies, and the cleanup knows when it has stopped.
	exited := make(chan struct{})
	var exitErr error
	go func() {
		exitErr = cmd.Wait()
		close(exited)
	}()
	log := func() string {
		b, err := os.ReadFile(logPath)
		if err != nil {
			return fmt.Sprintf("(cannot read %s: %v)", logPath, err)
		}
		return string(b)
	}
	var terminated atomic.Bool
	t.Cleanup(func() {
		select {
		case <-exited:
			if !terminated.Load() {
				t.Errorf("the extra worker ended before the test did: %v", exitErr)
			}
		default:
			// A worker that ended between the select and the signal
			// makes Signal fail; the wait below covers both.
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(10 * time.Second):
				// Kill fails only if it ended meanwhile: waiting is enough.
				_ = cmd.Process.Kill()
				<-exited
			}
		}
		if err := logFile.Close(); err != nil {
			t.Errorf("close the extra worker's log: %v", err)
		}
		if t.Failed() {
			t.Logf("extra worker's log:\n%s", log())
		}
	})
	prefix := fmt.Sprintf("%d@", cmd.Process.Pid)
	w := &ExtraWorker{Identity: prefix, terminate: func(within time.Duration) error {
		terminated.Store(true)
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			return err
		}
		select {
		case <-exited:
			return exitErr
		case <-time.After(within):
			_ = cmd.Process.Kill() // fails only if it ended meanwhile
			<-exited
			return fmt.Errorf("the worker did not exit within %s of SIGTERM: killed", within)
		}
	}}
	polling := func(ctx context.Context) (bool, error) {
		select {
		case <-exited:
			return false, fmt.Errorf("the extra worker exited (%v)", exitErr)
		default:
		}
		actx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		resp, err := s.Temporal.DescribeTaskQueue(actx, config.TaskQueue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
		if err != nil {
			return false, nil // the server may be busy: ask again
		}
		for _, p := range resp.GetPollers() {
			if strings.HasPrefix(p.GetIdentity(), prefix) {
				return true, nil
			}
		}
		return false, nil
	}
	if err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, time.Minute, true, polling); err != nil {
		t.Fatalf("the extra worker did not poll %s within 1m: %v; its log:\n%s", config.TaskQueue, err, log())
	}
	return w
}
