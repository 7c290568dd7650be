package render

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"

	"github.com/slipway-dev/slipway/model"
)

// An app's resources (databases, caches) run in its namespace as a
// StatefulSet with a Service, and their credentials sit in a Secret made
// once. They carry LabelResource and no release: a promotion applies them
// but never prunes them; they go with the app.

// LabelResource marks what runs a resource, with the resource's name.
const LabelResource = "slipway.dev/resource"

// ResourceName names the StatefulSet, Service and Secret of a resource.
func ResourceName(name string) string { return "resource-" + name }

// ResourceKeys are the keys of a resource's Secret; a service that lists
// the resource gets each as NAME_KEY (DATABASE_URL, DATABASE_PASS, ...).
var ResourceKeys = []string{"URL", "USER", "PASS", "HOST", "PORT", "NAME"}

// resourceKind is how one type of resource runs.
type resourceKind struct {
	image, version string
	port           int
	scheme         string // of the URL
	dataDir        string // "" keeps nothing on disk unless durable
	env            map[string]string
	args           []string
	auth           bool // the URL carries the user and password
}

var resourceKinds = map[string]resourceKind{
	"postgres": {image: "postgres", version: "13", port: 5432, scheme: "postgres", dataDir: "/var/lib/postgresql/data", auth: true,
		env: map[string]string{"POSTGRES_USER": "USER", "POSTGRES_PASSWORD": "PASS", "POSTGRES_DB": "NAME", "PGDATA": "=/var/lib/postgresql/data/pgdata"}},
	"mysql": {image: "mysql", version: "8.0", port: 3306, scheme: "mysql", dataDir: "/var/lib/mysql", auth: true,
		env: map[string]string{"MYSQL_USER": "USER", "MYSQL_PASSWORD": "PASS", "MYSQL_DATABASE": "NAME", "MYSQL_ROOT_PASSWORD": "PASS"}},
	"mariadb": {image: "mariadb", version: "10.6", port: 3306, scheme: "mysql", dataDir: "/var/lib/mysql", auth: true,
		env: map[string]string{"MARIADB_USER": "USER", "MARIADB_PASSWORD": "PASS", "MARIADB_DATABASE": "NAME", "MARIADB_ROOT_PASSWORD": "PASS"}},
	"redis": {image: "redis", version: "7", port: 6379, scheme: "redis", auth: true,
		env: map[string]string{"REDIS_PASSWORD": "PASS"}, args: []string{"redis-server", "--requirepass", "$(REDIS_PASSWORD)"}},
	"memcached": {image: "memcached", version: "1.6", port: 11211, scheme: "memcached"},
}

// DefaultResourceStorage is a resource's disk in GB when options.storage
// says nothing (Convox's default).
const DefaultResourceStorage = 10

// Resource is what runs one resource of the app.
type Resource struct {
	Name        string
	Service     *corev1ac.ServiceApplyConfiguration
	StatefulSet *appsv1ac.StatefulSetApplyConfiguration
}

func resourceLabels(in Input, r model.Resource) map[string]string {
	return map[string]string{LabelApp: in.App, LabelResource: r.Name, LabelManagedBy: "slipway"}
}

// Resources renders every resource of the manifest. It fails on a type
// the parser would have refused, so a hand-built Manifest cannot slip one
// through.
func Resources(in Input) ([]Resource, error) {
	out := make([]Resource, 0, len(in.Manifest.Resources))
	for _, r := range in.Manifest.Resources {
		k, ok := resourceKinds[r.Type]
		if !ok {
			return nil, fmt.Errorf("resources.%s: type %q is not one slipway runs: use one of %s", r.Name, r.Type, strings.Join(model.ResourceTypes, ", "))
		}
		name := ResourceName(r.Name)
		l := resourceLabels(in, r)
		c := corev1ac.Container().
			WithName(Container).
			WithImage(k.image + ":" + resourceOption(r, "version", k.version)).
			WithArgs(k.args...).
			WithPorts(corev1ac.ContainerPort().WithName("main").WithContainerPort(int32(k.port)).WithProtocol(corev1.ProtocolTCP)).
			WithReadinessProbe(corev1ac.Probe().WithTCPSocket(corev1ac.TCPSocketAction().WithPort(intstr.FromString("main"))).WithPeriodSeconds(5))
		for _, env := range sortedKeys(k.env) {
			v := k.env[env]
			if value, ok := strings.CutPrefix(v, "="); ok {
				c.WithEnv(corev1ac.EnvVar().WithName(env).WithValue(value))
				continue
			}
			c.WithEnv(corev1ac.EnvVar().WithName(env).WithValueFrom(corev1ac.EnvVarSource().WithSecretKeyRef(
				corev1ac.SecretKeySelector().WithName(name).WithKey(v))))
		}
		spec := appsv1ac.StatefulSetSpec().
			WithServiceName(name).
			WithReplicas(1).
			WithSelector(metav1ac.LabelSelector().WithMatchLabels(map[string]string{LabelApp: in.App, LabelResource: r.Name}))
		durable := k.dataDir != "" || resourceOption(r, "durable", "") == "true"
		if durable {
			dir := k.dataDir
			if dir == "" {
				dir = "/data"
			}
			c.WithVolumeMounts(corev1ac.VolumeMount().WithName("data").WithMountPath(dir))
			gb, err := strconv.Atoi(resourceOption(r, "storage", strconv.Itoa(DefaultResourceStorage)))
			if err != nil || gb < 1 {
				return nil, fmt.Errorf("resources.%s.options.storage: must be a whole number of GB, at least 1", r.Name)
			}
			spec.WithVolumeClaimTemplates(corev1ac.PersistentVolumeClaim("data", "").
				WithSpec(corev1ac.PersistentVolumeClaimSpec().
					WithAccessModes(corev1.ReadWriteOnce).
					WithResources(corev1ac.VolumeResourceRequirements().WithRequests(corev1.ResourceList{
						corev1.ResourceStorage: *resource.NewQuantity(int64(gb)<<30, resource.BinarySI),
					}))))
		}
		spec.WithTemplate(corev1ac.PodTemplateSpec().WithLabels(l).WithSpec(corev1ac.PodSpec().WithContainers(c)))
		out = append(out, Resource{
			Name: r.Name,
			Service: corev1ac.Service(name, in.Namespace).WithLabels(l).WithSpec(corev1ac.ServiceSpec().
				WithSelector(map[string]string{LabelApp: in.App, LabelResource: r.Name}).
				WithPorts(corev1ac.ServicePort().WithName("main").WithPort(int32(k.port)).WithTargetPort(intstr.FromString("main")).WithProtocol(corev1.ProtocolTCP))),
			StatefulSet: appsv1ac.StatefulSet(name, in.Namespace).WithLabels(l).WithSpec(spec),
		})
	}
	return out, nil
}

func resourceOption(r model.Resource, key, def string) string {
	if v, ok := r.Options[key]; ok && v != "" {
		return v
	}
	return def
}

// ResourceSecret holds the credentials of resource r, with password as
// its password. It is created once, never applied again: the data in the
// resource was made with them.
func ResourceSecret(in Input, r model.Resource, password string) (*corev1.Secret, error) {
	k, ok := resourceKinds[r.Type]
	if !ok {
		return nil, fmt.Errorf("resources.%s: type %q is not one slipway runs", r.Name, r.Type)
	}
	name := ResourceName(r.Name)
	host := name + "." + in.Namespace + ".svc.cluster.local"
	u := url.URL{Scheme: k.scheme, Host: host + ":" + strconv.Itoa(k.port)}
	user, db := "app", "app"
	if k.auth {
		u.User = url.UserPassword(user, password)
		if k.scheme == "redis" {
			u.User = url.UserPassword("", password)
		}
	}
	switch k.scheme {
	case "postgres", "mysql":
		u.Path = "/" + db
	case "redis":
		u.Path = "/0"
	}
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: in.Namespace, Labels: resourceLabels(in, r)},
		Type:       corev1.SecretTypeOpaque,
		StringData: map[string]string{
			"URL": u.String(), "USER": user, "PASS": password, "HOST": host, "PORT": strconv.Itoa(k.port), "NAME": db,
		},
	}, nil
}

// ResourceEnvPrefix is the env prefix of a resource: its name upper-cased,
// "-" as "_" (Convox's).
func ResourceEnvPrefix(name string) string {
	return strings.ReplaceAll(strings.ToUpper(name), "-", "_")
}

// resourceEnv gives svc the credentials of each resource it lists, read
// from the resource's Secret when the process starts. A key the release
// env sets wins: it is left out here, so the env Secret's value shows.
func resourceEnv(in Input, svc model.Service) []*corev1ac.EnvVarApplyConfiguration {
	var out []*corev1ac.EnvVarApplyConfiguration
	for _, r := range svc.Resources {
		for _, key := range ResourceKeys {
			name := ResourceEnvPrefix(r) + "_" + key
			if _, set := in.Env[name]; set {
				continue
			}
			out = append(out, corev1ac.EnvVar().WithName(name).WithValueFrom(corev1ac.EnvVarSource().WithSecretKeyRef(
				corev1ac.SecretKeySelector().WithName(ResourceName(r)).WithKey(key))))
		}
	}
	return out
}

// VolumeClaimName is the claim of an app's shared volume.
func VolumeClaimName(name string) string { return "volume-" + name }

// VolumeClaims are the claims of the app's shared volumes, one per name,
// readable and writable from every node: created once and kept with the
// app, like resources.
func VolumeClaims(in Input) []*corev1.PersistentVolumeClaim {
	seen := map[string]bool{}
	var out []*corev1.PersistentVolumeClaim
	for _, svc := range in.Manifest.Services {
		for _, v := range svc.Volumes {
			if v.Name == "" || seen[v.Name] {
				continue
			}
			seen[v.Name] = true
			out = append(out, &corev1.PersistentVolumeClaim{
				ObjectMeta: metav1.ObjectMeta{
					Name: VolumeClaimName(v.Name), Namespace: in.Namespace,
					Labels: map[string]string{LabelApp: in.App, LabelResource: "volume-" + v.Name, LabelManagedBy: "slipway"},
				},
				Spec: corev1.PersistentVolumeClaimSpec{
					AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany},
					Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{
						corev1.ResourceStorage: *resource.NewQuantity(int64(DefaultResourceStorage)<<30, resource.BinarySI),
					}},
				},
			})
		}
	}
	return out
}
