package incluster

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/contrib/envconfig"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/slipway-dev/slipway/codec"
	"github.com/slipway-dev/slipway/config"
	"github.com/slipway-dev/slipway/internal/golden"
)

// Fixed PEM-shaped stand-ins: the golden file must not change from run to
// run, and nothing here parses them.
const (
	certPEM = "-----BEGIN CERTIFICATE-----\nMIIBcert\n-----END CERTIFICATE-----\n"
	keyPEM  = "-----BEGIN EC PRIVATE KEY-----\nMHcCkey\n-----END EC PRIVATE KEY-----\n"
	caPEM   = "-----BEGIN CERTIFICATE-----\nMIIBca\n-----END CERTIFICATE-----\n"
	// A codec key as SLIPWAY_CODEC_KEY holds it (32 zero bytes).
	codecKey = "k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
)

func options() Options {
	return Options{
		Rack:     "prod",
		Image:    "registry.example.com/slipway/slipway:v1.2.3",
		Replicas: 2,
		Env: map[string]string{
			config.EnvRack:               "prod",
			config.EnvRegistry:           "registry.example.com",
			config.EnvBlobURL:            "oci://registry.example.com/slipway/blobs",
			config.EnvInsecureRegistries: "",
			codec.EnvKey:                 codecKey,
		},
		Temporal: envconfig.ClientConfigProfile{
			Address:   "temporal.example.com:7233",
			Namespace: "slipway",
			TLS: &envconfig.ClientConfigTLS{
				ClientCertData: []byte(certPEM), ClientKeyData: []byte(keyPEM),
				ServerCACertData: []byte(caPEM), ServerName: "temporal.example.com",
			},
		},
	}
}

// The YAML `system install --print` adds for the worker, with two replicas.
func TestManifests(t *testing.T) {
	b, err := Manifests(options())
	if err != nil {
		t.Fatal(err)
	}
	golden.NoTrailingSpace(t, b)
	golden.Assert(t, "worker.yaml", b)
	// The Secret's temporal.toml, which the YAML shows in base64.
	toml, err := TemporalTOML(options())
	if err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, "temporal.toml", toml)
}

func kinds(t *testing.T, o Options) []string {
	t.Helper()
	objs, err := Objects(o)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, obj := range objs {
		out = append(out, obj.GetObjectKind().GroupVersionKind().Kind)
	}
	return out
}

// A PodDisruptionBudget only with room for one pod to go; no replicas, no
// objects.
func TestObjectsByReplicas(t *testing.T) {
	for replicas, want := range map[int32][]string{
		0: nil,
		1: {"Secret", "Deployment", "Service"},
		2: {"Secret", "Deployment", "Service", "PodDisruptionBudget"},
		5: {"Secret", "Deployment", "Service", "PodDisruptionBudget"},
	} {
		o := options()
		o.Replicas = replicas
		if got := kinds(t, o); !slices.Equal(got, want) {
			t.Errorf("%d replicas: %v, want %v", replicas, got, want)
		}
	}
}

// Every variable of the pod comes from the Secret by reference, except the
// file name of the Temporal profile; every one is a variable slipway or
// the Temporal SDK reads; and no value of the Secret is in the Deployment.
func TestDeploymentReadsTheSecret(t *testing.T) {
	o := options()
	o.Temporal.APIKey = "temporal-api-key-value"
	sec, err := Secret(o)
	if err != nil {
		t.Fatal(err)
	}
	d := Deployment(o, sec)
	c := d.Spec.Template.Spec.Containers[0]
	var names []string
	for _, e := range c.Env {
		names = append(names, e.Name)
		switch {
		case e.Name == "TEMPORAL_CONFIG_FILE":
			if e.Value != "/etc/slipway/temporal/temporal.toml" {
				t.Errorf("TEMPORAL_CONFIG_FILE=%q", e.Value)
			}
		case e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil || e.ValueFrom.SecretKeyRef.Name != Name:
			t.Errorf("%s is not read from Secret %s: %+v", e.Name, Name, e)
		case sec.Data[e.ValueFrom.SecretKeyRef.Key] == nil:
			t.Errorf("%s reads key %q, which the Secret lacks", e.Name, e.ValueFrom.SecretKeyRef.Key)
		}
		if !slices.Contains(config.Env, e.Name) && !strings.HasPrefix(e.Name, "TEMPORAL_") {
			t.Errorf("the pod sets %s, which slipway does not read", e.Name)
		}
	}
	if want := []string{"SLIPWAY_BLOB_URL", "SLIPWAY_CODEC_KEY", "SLIPWAY_INSECURE_REGISTRIES", "SLIPWAY_RACK", "SLIPWAY_REGISTRY", "TEMPORAL_CONFIG_FILE"}; !slices.Equal(names, want) {
		t.Errorf("env %v, want %v", names, want)
	}
	spec, err := yaml.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{codecKey, "temporal-api-key-value", "MHcCkey"} {
		if bytes.Contains(spec, []byte(secret)) {
			t.Errorf("the Deployment's spec holds %q: it belongs in the Secret only", secret)
		}
	}
	if !bytes.Contains(sec.Data[TemporalFile], []byte("temporal-api-key-value")) {
		t.Error("the API key is not in the Secret's temporal.toml")
	}
	if d.Spec.Template.Spec.ServiceAccountName != "slipway-worker" {
		t.Errorf("runs as %q", d.Spec.Template.Spec.ServiceAccountName)
	}
}

// The pod's contract with `slipway worker`: its flags, the health
// endpoint of both probes, the grace period beyond the stop timeout, and
// a non-root, read-only container with a writable /tmp.
func TestDeploymentContract(t *testing.T) {
	sec, err := Secret(options())
	if err != nil {
		t.Fatal(err)
	}
	d := Deployment(options(), sec)
	pod := d.Spec.Template.Spec
	c := pod.Containers[0]
	if want := []string{"worker", "--listen", ":8080", "--stop-timeout", "30s"}; !slices.Equal(c.Args, want) {
		t.Errorf("args %q, want %q", c.Args, want)
	}
	for name, p := range map[string]*corev1.Probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe} {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/healthz" || p.HTTPGet.Port.String() != "http" {
			t.Errorf("%s probe %+v, want GET /healthz on port http", name, p)
		}
	}
	if len(c.Ports) != 1 || c.Ports[0].ContainerPort != 8080 || c.Ports[0].Name != "http" {
		t.Errorf("ports %+v", c.Ports)
	}
	if g := *pod.TerminationGracePeriodSeconds; g != 40 {
		t.Errorf("grace period %d s, want 40", g)
	}
	sc := pod.SecurityContext
	if !*sc.RunAsNonRoot || *sc.RunAsUser != 65532 || !*c.SecurityContext.ReadOnlyRootFilesystem || *c.SecurityContext.AllowPrivilegeEscalation {
		t.Errorf("security context %+v / %+v", sc, c.SecurityContext)
	}
	if !*pod.AutomountServiceAccountToken {
		t.Error("the ServiceAccount's token is not mounted: the worker reaches the API with it")
	}
	mounts := map[string]corev1.VolumeMount{}
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = m
	}
	if m, ok := mounts["/tmp"]; !ok || m.ReadOnly {
		t.Errorf("/tmp mount %+v: builds unpack there", m)
	}
	if m, ok := mounts[TemporalDir]; !ok || !m.ReadOnly {
		t.Errorf("%s mount %+v", TemporalDir, m)
	}
	if *d.Spec.Replicas != 2 || d.Spec.Strategy.RollingUpdate.MaxUnavailable.IntValue() != 0 {
		t.Errorf("replicas %d, maxUnavailable %v", *d.Spec.Replicas, d.Spec.Strategy.RollingUpdate.MaxUnavailable)
	}
}

// A changed setting changes the pods' template (so they are replaced), an
// unchanged one leaves it as it was.
func TestConfigChecksum(t *testing.T) {
	template := func(o Options) string {
		sec, err := Secret(o)
		if err != nil {
			t.Fatal(err)
		}
		return Deployment(o, sec).Spec.Template.Annotations[ConfigAnnotation]
	}
	a, b := template(options()), template(options())
	if a == "" || a != b {
		t.Fatalf("the same options give checksums %q and %q", a, b)
	}
	o := options()
	o.Env[codec.EnvKey] = codecKey + ",k2:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="
	if template(o) == a {
		t.Error("a new codec key left the pods as they were")
	}
	o = options()
	o.Temporal.Address = "other:7233"
	if template(o) == a {
		t.Error("a new Temporal address left the pods as they were")
	}
}

// selfSigned is a real certificate and key, so the profile's TLS is
// checked by the SDK as a worker would load it.
func selfSigned(t *testing.T) (cert, key []byte) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "worker"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
}

// The worker reads temporal.toml with envconfig, as it reads any profile:
// it gets the installer's address, namespace, API key and TLS back, and
// the SDK accepts them. A remote codec is not passed on.
func TestTemporalProfileRoundTrip(t *testing.T) {
	cert, key := selfSigned(t)
	o := options()
	o.Temporal.TLS = &envconfig.ClientConfigTLS{ClientCertData: cert, ClientKeyData: key, ServerCACertData: cert, ServerName: "temporal.example.com"}
	o.Temporal.APIKey = "key-1"
	o.Temporal.GRPCMeta = map[string]string{"x-team": "payments"}
	o.Temporal.Codec = &envconfig.ClientConfigCodec{Endpoint: "https://codec.example.com"}
	sec, err := Secret(o)
	if err != nil {
		t.Fatal(err)
	}
	got, err := envconfig.LoadClientConfigProfile(envconfig.LoadClientConfigProfileOptions{
		ConfigFileData: sec.Data[TemporalFile], ConfigFileProfile: "default", DisableEnv: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.Codec != nil {
		t.Errorf("the remote codec %+v went to the worker", got.Codec)
	}
	want := o.Temporal
	want.Codec = nil
	gy, _ := yaml.Marshal(got)
	wy, _ := yaml.Marshal(want)
	if !bytes.Equal(gy, wy) {
		t.Errorf("the worker reads the profile\n%s\nwant\n%s", gy, wy)
	}
	opts, err := got.ToClientOptions(envconfig.ToClientOptionsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if opts.HostPort != "temporal.example.com:7233" || opts.Namespace != "slipway" || opts.ConnectionOptions.TLS == nil ||
		len(opts.ConnectionOptions.TLS.Certificates) != 1 || opts.ConnectionOptions.TLS.RootCAs == nil || opts.Credentials == nil {
		t.Errorf("client options %+v: want the address, namespace, client certificate, CA and API key", opts)
	}
}

func TestValidate(t *testing.T) {
	for name, c := range map[string]struct {
		change func(*Options)
		want   string
	}{
		"negative replicas": {func(o *Options) { o.Replicas = -1 }, "--replicas -1: give the number of in-cluster workers, or 0 for none"},
		"no image":          {func(o *Options) { o.Image = "" }, "no image for the in-cluster worker: pass --image REF"},
		"bad image":         {func(o *Options) { o.Image = "Registry/UPPER:tag" }, `--image "Registry/UPPER:tag" is not an image reference`},
		"no rack":           {func(o *Options) { o.Rack = "" }, "no rack: set SLIPWAY_RACK"},
		"TLS by path":       {func(o *Options) { o.Temporal.TLS.ClientCertPath = "/home/me/cert.pem" }, "the Temporal profile names TLS files by path"},
		"bad variable":      {func(o *Options) { o.Env["A=B"] = "x" }, `environment variable name "A=B"`},
	} {
		o := options()
		c.change(&o)
		_, err := Objects(o)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v, want one line starting %q", name, err, c.want)
		}
	}
	o := options()
	o.Replicas, o.Image = 0, ""
	if err := o.Validate(); err != nil {
		t.Errorf("no replicas need no image: %v", err)
	}
}

func TestDefaultImage(t *testing.T) {
	for version, want := range map[string]string{
		"v1.2.3":                             "r:5000/slipway/slipway:v1.2.3",
		"v10.0.12":                           "r:5000/slipway/slipway:v10.0.12",
		"":                                   "r:5000/slipway/slipway:latest",
		"(devel)":                            "r:5000/slipway/slipway:latest",
		"v1.2.3+dirty":                       "r:5000/slipway/slipway:latest",
		"v1.2.4-rc.1":                        "r:5000/slipway/slipway:latest",
		"v0.0.0-20261126120000-abcdefabcdef": "r:5000/slipway/slipway:latest",
		"1.2.3":                              "r:5000/slipway/slipway:latest",
	} {
		if got := DefaultImage("r:5000", version); got != want {
			t.Errorf("version %q: %s, want %s", version, got, want)
		}
	}
}

func TestWarnings(t *testing.T) {
	if w := Warnings(options()); len(w) != 0 {
		t.Errorf("reachable settings warned: %q", w)
	}
	o := options()
	o.Temporal.Address = "127.0.0.1:7233"
	o.Env[config.EnvRegistry] = "localhost:5000"
	o.Env[config.EnvBlobURL] = "file:///home/me/.slipway/dev/blobs"
	delete(o.Env, codec.EnvKey)
	w := Warnings(o)
	for i, want := range []string{`Temporal address "127.0.0.1:7233" is this machine`, `registry "localhost:5000" is this machine`, `blob store "file:///home/me/.slipway/dev/blobs" is not shared`, "no codec key"} {
		if i >= len(w) || !strings.HasPrefix(w[i], want) {
			t.Errorf("warnings %q: want %q at %d", w, want, i)
		}
	}
	o.Replicas = 0
	if w := Warnings(o); len(w) != 0 {
		t.Errorf("no in-cluster worker, yet warnings %q", w)
	}
}

// Registry credentials, when given, are a file of the Secret that
// DOCKER_CONFIG points at, never in the Deployment's spec; a config the
// image cannot use is refused.
func TestDockerConfig(t *testing.T) {
	o := options()
	o.DockerConfig = []byte(`{"auths":{"registry.example.com":{"auth":"dXNlcjpzM2NyZXQ="}}}`)
	sec, err := Secret(o)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(sec.Data[DockerFile], o.DockerConfig) {
		t.Errorf("the Secret's %s is %q", DockerFile, sec.Data[DockerFile])
	}
	d := Deployment(o, sec)
	pod := d.Spec.Template.Spec
	env := map[string]string{}
	for _, e := range pod.Containers[0].Env {
		env[e.Name] = e.Value
	}
	if env["DOCKER_CONFIG"] != "/etc/slipway/docker" {
		t.Errorf("DOCKER_CONFIG=%q", env["DOCKER_CONFIG"])
	}
	var mounted, fromSecret bool
	for _, m := range pod.Containers[0].VolumeMounts {
		mounted = mounted || (m.Name == "docker" && m.MountPath == DockerDir && m.ReadOnly)
	}
	for _, v := range pod.Volumes {
		fromSecret = fromSecret || (v.Name == "docker" && v.Secret != nil && v.Secret.SecretName == Name &&
			len(v.Secret.Items) == 1 && v.Secret.Items[0] == corev1.KeyToPath{Key: DockerFile, Path: "config.json"})
	}
	if !mounted || !fromSecret {
		t.Errorf("config.json is not mounted read-only from the Secret at %s: %+v %+v", DockerDir, pod.Containers[0].VolumeMounts, pod.Volumes)
	}
	spec, err := yaml.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(spec, []byte("dXNlcjpzM2NyZXQ=")) {
		t.Error("the registry's credentials are in the Deployment's spec")
	}
	without := Deployment(options(), sec)
	for _, e := range without.Spec.Template.Spec.Containers[0].Env {
		if e.Name == "DOCKER_CONFIG" {
			t.Error("DOCKER_CONFIG set with no Docker config given")
		}
	}

	for config, want := range map[string]string{
		`not json`:                       "--docker-config is not a Docker config.json",
		`{"credsStore":"desktop"}`:       "--docker-config keeps its credentials in a helper program",
		`{"credHelpers":{"gcr.io":"x"}}`: "--docker-config keeps its credentials in a helper program",
		`{}`:                             "--docker-config holds no credentials",
	} {
		o.DockerConfig = []byte(config)
		if _, err := Objects(o); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("docker config %s: %v, want %q", config, err, want)
		}
	}
}
