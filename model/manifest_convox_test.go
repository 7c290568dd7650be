package model

import (
	"reflect"
	"strings"
	"testing"
)

// The forms Convox accepts for the keys that came after build, image,
// command, port, health, scale, environment, deployment, termination,
// annotations and labels.
func TestParseManifestConvoxForms(t *testing.T) {
	web := func(s *Service) { s.Port, s.Scheme = 3000, "http" }
	for _, tc := range []struct {
		name string
		yml  string         // the service's lines after "build: ."
		want func(*Service) // changes defaultService("web")
		env  Env            // for interpolation
		warn []string       // the manifest's warnings
	}{
		// port
		{"port quoted", `port: "5000"`, func(s *Service) { s.Port, s.Scheme = 5000, "http" }, nil, nil},
		{"port https", "port: https:3000", func(s *Service) { s.Port, s.Scheme = 3000, "https" }, nil, nil},
		{"port grpc", "port: grpc:50051", func(s *Service) { s.Port, s.Scheme = 50051, "grpc" }, nil, nil},
		{"port http", "port: http:80", func(s *Service) { s.Port, s.Scheme = 80, "http" }, nil, nil},
		{"port scheme case", "port: HTTPS:443", func(s *Service) { s.Port, s.Scheme = 443, "https" }, nil, nil},
		{"port map", "port: {port: 3000, scheme: https}", func(s *Service) { s.Port, s.Scheme = 3000, "https" }, nil, nil},
		{"port map with scheme in port", `port: {port: "grpc:9000"}`, func(s *Service) { s.Port, s.Scheme = 9000, "grpc" }, nil, nil},
		{"port from env", "port: ${PORT}", func(s *Service) { s.Port, s.Scheme = 8080, "http" }, Env{"PORT": "8080"}, nil},
		{"port and scheme from env", "port: ${PORT}", func(s *Service) { s.Port, s.Scheme = 8443, "https" }, Env{"PORT": "https:8443"}, nil},

		// ports
		{"ports", "port: 3000\n    ports: [5001/udp, 5000, {port: 5002, protocol: UDP}, \"5003\"]", func(s *Service) {
			web(s)
			s.Ports = []ServicePort{{5000, "TCP"}, {5001, "UDP"}, {5002, "UDP"}, {5003, "TCP"}}
		}, nil, nil},
		{"ports drop the main port over tcp", "port: 3000\n    ports: [3000, 3000/udp, 3001/tcp]", func(s *Service) {
			web(s)
			s.Ports = []ServicePort{{3000, "UDP"}, {3001, "TCP"}}
		}, nil, nil},
		{"ports empty", "ports: []", nil, nil, nil},

		// domain
		{"domain", "port: 3000\n    domain: app.example.org", func(s *Service) { web(s); s.Domains = []string{"app.example.org"} }, nil, nil},
		{"domain commas", "port: 3000\n    domain: b.example.org, A.example.org ,,b.example.org", func(s *Service) {
			web(s)
			s.Domains = []string{"b.example.org", "a.example.org"}
		}, nil, nil},
		{"domain list", "port: 3000\n    domain: [\"*.example.org\", example.org, \" \"]", func(s *Service) {
			web(s)
			s.Domains = []string{"*.example.org", "example.org"}
		}, nil, nil},
		{"domain from env", "port: 3000\n    domain: ${HOST}", func(s *Service) { web(s); s.Domains = []string{"app.example.org"} }, Env{"HOST": "app.example.org"}, nil},
		{"domain from an unset env", "port: 3000\n    domain: ${HOST}", web, nil, nil},
		{"domains from env", "port: 3000\n    domain: ${HOST},www.${HOST}", func(s *Service) {
			web(s)
			s.Domains = []string{"example.org", "www.example.org"}
		}, Env{"HOST": "example.org"}, nil},
		{"domain without a port", "domain: app.example.org", nil, nil, []string{"convox.yml:4: services.web.domain: ignored: the service has no port to route to"}},

		// the router
		{"internal", "internal: true", func(s *Service) { s.Internal = true }, nil, nil},
		{"internal router", "internalRouter: yes", func(s *Service) { s.InternalRouter = true }, nil, nil},
		{"sticky", "sticky: true", func(s *Service) { s.Sticky = true }, nil, nil},
		{"tls redirect off", "tls: {redirect: false}", func(s *Service) { s.TLS.Redirect = false }, nil, nil},
		{"tls empty", "tls: {}", nil, nil, nil},
		{"timeout", "timeout: 300", func(s *Service) { s.Timeout = 300 }, nil, nil},
		{"timeout zero is unset", "timeout: 0", nil, nil, nil},
		{"whitelist", "whitelist: 10.0.0.0/8, 203.0.113.7 ,2001:db8::1", func(s *Service) {
			s.Whitelist = []string{"10.0.0.0/8", "203.0.113.7/32", "2001:db8::1/128"}
		}, nil, nil},
		{"whitelist list", "whitelist: [10.0.0.0/8, 10.0.0.0/8, 192.168.0.0/16]", func(s *Service) {
			s.Whitelist = []string{"10.0.0.0/8", "192.168.0.0/16"}
		}, nil, nil},
		{"ingress annotations list", "ingressAnnotations: [nginx.ingress.kubernetes.io/proxy-body-size=50m]", func(s *Service) {
			s.IngressAnnotations = map[string]string{"nginx.ingress.kubernetes.io/proxy-body-size": "50m"}
		}, nil, nil},
		{"ingress annotations map", "ingressAnnotations: {a: b}", func(s *Service) { s.IngressAnnotations = map[string]string{"a": "b"} }, nil, nil},

		// checks
		{"health empty path", `health: ""`, nil, nil, nil},
		{"health map empty path", `health: {path: " ", interval: 10}`, func(s *Service) { s.Health = Health{Path: "/", Interval: 10, Timeout: 9, Grace: 10} }, nil, nil},
		{"health disable and port", "health: {disable: true, port: 8081}", func(s *Service) { s.Health.Disable, s.Health.Port = true, 8081 }, nil, nil},
		{"health port scheme", "health: {port: https:8443}", func(s *Service) { s.Health.Port = 8443 }, nil, []string{
			"convox.yml:4: services.web.health.port: the scheme is ignored: slipway checks with the service's scheme",
		}},
		{"health timeout may reach the interval", "health: {interval: 30, timeout: 60}", func(s *Service) { s.Health = Health{Path: "/", Interval: 30, Timeout: 60, Grace: 30} }, nil, nil},
		{"liveness defaults", "port: 3000\n    liveness: {path: /live}", func(s *Service) {
			web(s)
			s.Liveness = &Probe{Path: "/live", Grace: 10, Interval: 5, Timeout: 5, SuccessThreshold: 1, FailureThreshold: 3}
		}, nil, nil},
		{"liveness", "port: 3000\n    liveness: {path: /live, port: 3001, grace: 0, interval: 10, timeout: 2, successThreshold: 1, failureThreshold: 6}", func(s *Service) {
			web(s)
			s.Liveness = &Probe{Path: "/live", Port: 3001, Grace: 0, Interval: 10, Timeout: 2, SuccessThreshold: 1, FailureThreshold: 6}
		}, nil, nil},
		{"liveness without a path", "port: 3000\n    liveness: {grace: 5}", web, nil, []string{"convox.yml:5: services.web.liveness: ignored: it has no path"}},
		{"startup probe takes liveness's defaults", "port: 3000\n    startupProbe: {path: /ready, failureThreshold: 30}", func(s *Service) {
			web(s)
			s.StartupProbe = &Probe{Path: "/ready", Grace: 10, Interval: 5, Timeout: 5, SuccessThreshold: 1, FailureThreshold: 30}
		}, nil, nil},
		{"startup probe takes liveness's values", "port: 3000\n    liveness: {path: /live, interval: 20}\n    startupProbe: {tcpSocketPort: \"3000\"}", func(s *Service) {
			web(s)
			s.Liveness = &Probe{Path: "/live", Grace: 10, Interval: 20, Timeout: 5, SuccessThreshold: 1, FailureThreshold: 3}
			s.StartupProbe = &Probe{TCPPort: 3000, Grace: 10, Interval: 20, Timeout: 5, SuccessThreshold: 1, FailureThreshold: 3}
		}, nil, nil},
		{"probes without a port", "liveness: {path: /live}\n    startupProbe: {path: /ready}", nil, nil, []string{
			"convox.yml:4: services.web.liveness: ignored: the service has no port",
			"convox.yml:5: services.web.startupProbe: ignored: the service has no port",
		}},
		{"grpc health", "port: grpc:50051\n    grpcHealthEnabled: true", func(s *Service) { s.Port, s.Scheme, s.GRPCHealth = 50051, "grpc", true }, nil, nil},

		// scale
		{"scale range", `scale: "1-5"`, func(s *Service) { s.Scale.Count, s.Scale.Max, s.Scale.Targets.CPU = 1, 5, DefaultTargetCPU }, nil, nil},
		{"scale count string", `scale: {count: "3"}`, func(s *Service) { s.Scale.Count, s.Scale.Max = 3, 3 }, nil, nil},
		{"scale count range", "scale: {count: 2-10, targets: {memory: 60}}", func(s *Service) {
			s.Scale.Count, s.Scale.Max, s.Scale.Targets = 2, 10, ScaleTargets{Memory: 60}
		}, nil, nil},
		{"scale count map", "scale: {count: {min: 1, max: \"4\"}, targets: {cpu: 50, memory: 70}}", func(s *Service) {
			s.Scale.Count, s.Scale.Max, s.Scale.Targets = 1, 4, ScaleTargets{CPU: 50, Memory: 70}
		}, nil, nil},
		{"scale min and max", "scale: {min: 2, max: 6}", func(s *Service) { s.Scale.Count, s.Scale.Max, s.Scale.Targets.CPU = 2, 6, DefaultTargetCPU }, nil, nil},
		{"scale min only", "scale: {count: 1-5, min: 3}", func(s *Service) { s.Scale.Count, s.Scale.Max = 3, 3 }, nil, nil},
		{"scale max only", "scale: {max: 4}", func(s *Service) { s.Scale.Count, s.Scale.Max = 4, 4 }, nil, nil},
		{"scale max over a count", "scale: {count: 2, max: 4}", func(s *Service) { s.Scale.Count, s.Scale.Max, s.Scale.Targets.CPU = 2, 4, DefaultTargetCPU }, nil, nil},
		{"scale limit", "scale: {cpu: 100, memory: 128, limit: {cpu: 500, memory: 256}}", func(s *Service) {
			s.Scale.CPU, s.Scale.Memory, s.Scale.Limit = 100, 128, ScaleLimit{CPU: 500, Memory: 256}
		}, nil, nil},
		{"scale limit alone is the request", "scale: {limit: {cpu: 2000, memory: 1024}}", func(s *Service) {
			s.Scale.CPU, s.Scale.Memory, s.Scale.Limit = 2000, 1024, ScaleLimit{CPU: 2000, Memory: 1024}
		}, nil, nil},
		{"scale ignored keys", "scale: {count: 1, gpu: 1, keda: {}, vpa: {}, autoscale: {}}", nil, nil, []string{
			"convox.yml:4: services.web.scale.autoscale: ignored: slipway does not support it yet",
			"convox.yml:4: services.web.scale.gpu: ignored: slipway does not support it yet",
			"convox.yml:4: services.web.scale.keda: ignored: slipway does not support it yet",
			"convox.yml:4: services.web.scale.vpa: ignored: slipway does not support it yet",
		}},

		// how it runs
		{"agent", "agent: true", func(s *Service) { s.Agent, s.Deployment = true, Deployment{Minimum: 0, Maximum: 100} }, nil, nil},
		{"agent map with ports", "port: 3000\n    agent: {enabled: true, ports: [8125/udp, 8126]}", func(s *Service) {
			web(s)
			s.Agent, s.Deployment = true, Deployment{Minimum: 0, Maximum: 100}
			s.Ports = []ServicePort{{8125, "UDP"}, {8126, "TCP"}}
		}, nil, nil},
		{"agent does not autoscale", "agent: true\n    scale: 1-3", func(s *Service) { s.Agent, s.Deployment = true, Deployment{Minimum: 0, Maximum: 100} }, nil, []string{
			"convox.yml:5: services.web.scale: the range is ignored: an agent runs one process on every node",
		}},
		{"singleton", "singleton: true", func(s *Service) { s.Singleton, s.Deployment = true, Deployment{Minimum: 0, Maximum: 100} }, nil, nil},
		{"singleton with a deployment", "singleton: true\n    deployment: {maximum: 150}", func(s *Service) { s.Singleton, s.Deployment = true, Deployment{Minimum: 0, Maximum: 150} }, nil, nil},
		{"singleton with a count", "singleton: true\n    scale: 1-3", func(s *Service) {
			s.Singleton, s.Deployment = true, Deployment{Minimum: 0, Maximum: 100}
			s.Scale.Count, s.Scale.Max, s.Scale.Targets.CPU = 1, 3, DefaultTargetCPU
		}, nil, []string{"convox.yml:5: services.web.scale: a singleton runs one process at most: the count above 1 is not run"}},
		{"privileged", "privileged: true", func(s *Service) { s.Privileged = true }, nil, nil},
		{"init off", "init: false", func(s *Service) { s.Init = false }, nil, nil},
		{"lifecycle", "lifecycle: {preStop: \"sleep 5\", postStart: \"touch /tmp/up\"}", func(s *Service) {
			s.Lifecycle = Lifecycle{PreStop: "sleep 5", PostStart: "touch /tmp/up"}
		}, nil, nil},
		{"volumes", "volumes: [/tmp/cache/, uploads:/app/uploads, /var/run/docker.sock, \"/proc/:/host/proc/\"]", func(s *Service) {
			s.Volumes = []Volume{
				{Name: "uploads", Path: "/app/uploads"},
				{Host: "/proc", Path: "/host/proc"},
				{Path: "/tmp/cache"},
				{Host: "/var/run/docker.sock", Path: "/var/run/docker.sock"},
			}
		}, nil, nil},
		{"volume options", "volumes: [/a]\n    volumeOptions:\n      - emptyDir: {id: scratch, mountPath: /b, medium: Memory}\n      - awsEfs: {id: files, mountPath: /c, accessMode: ReadWriteMany}", func(s *Service) {
			s.Volumes = []Volume{{Path: "/a"}, {Path: "/b"}, {Name: "files", Path: "/c"}}
		}, nil, []string{
			"convox.yml:6: services.web.volumeOptions[0].emptyDir.medium: ignored: slipway does not support it yet",
			"convox.yml:7: services.web.volumeOptions[1].awsEfs.accessMode: ignored: slipway does not support it yet",
		}},
		{"init container", "initContainer: {image: busybox, command: \"sh -c 'sleep 1'\"}", func(s *Service) {
			s.InitContainer = &InitContainer{Image: "busybox", Command: "sh -c 'sleep 1'"}
		}, nil, nil},
		{"init container of the service's image", "initContainer: {command: bin/migrate}", func(s *Service) { s.InitContainer = &InitContainer{Command: "bin/migrate"} }, nil, nil},
		{"node selector map", "nodeSelectorLabels: {convox.io/label: gpu}", func(s *Service) { s.NodeSelectorLabels = map[string]string{"convox.io/label": "gpu"} }, nil, nil},
		{"node selector list", "nodeSelectorLabels: [disk=ssd]", func(s *Service) { s.NodeSelectorLabels = map[string]string{"disk": "ssd"} }, nil, nil},
		{"labels that are not label values", "labels: [tier=web, \"owner=Jane Doe\", url=https://example.org/x]", func(s *Service) {
			s.Labels = map[string]string{"tier": "web"}
			s.Annotations = map[string]string{"owner": "Jane Doe", "url": "https://example.org/x"}
		}, nil, []string{
			"convox.yml:4: services.web.labels[1]: not a valid Kubernetes label value: put on the pods as an annotation instead",
			"convox.yml:4: services.web.labels[2]: not a valid Kubernetes label value: put on the pods as an annotation instead",
		}},
		{"an annotation wins over a moved label", "labels: {x: a b}\n    annotations: {x: kept}", func(s *Service) { s.Annotations = map[string]string{"x": "kept"} }, nil, []string{
			"convox.yml:4: services.web.labels.x: not a valid Kubernetes label value: put on the pods as an annotation instead",
		}},
		{"annotations as one-entry maps", "annotations: [a=1, {b: \"2\"}]", func(s *Service) { s.Annotations = map[string]string{"a": "1", "b": "2"} }, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			yml := "services:\n  web:\n    build: .\n    " + tc.yml + "\n"
			m := mustParse(t, yml, tc.env)
			want := defaultService("web")
			if tc.want != nil {
				tc.want(&want)
			}
			if len(m.Services) != 1 || !reflect.DeepEqual(m.Services[0], want) {
				t.Fatalf("%s\ngot  %s\nwant %s", yml, js(m.Services), js(want))
			}
			if !reflect.DeepEqual(m.Warnings, tc.warn) {
				t.Fatalf("%s\nwarnings %q\nwant     %q", yml, m.Warnings, tc.warn)
			}
		})
	}
}

// A service with neither build nor image builds the root of the source,
// as in Convox.
func TestParseManifestBuildsByDefault(t *testing.T) {
	for _, yml := range []string{"services:\n  web:\n", "services:\n  web: {}\n", "services:\n  web: {command: x}\n"} {
		m := mustParse(t, yml, nil)
		if b := m.Services[0].Build; b == nil || !reflect.DeepEqual(*b, Build{Path: ".", Manifest: "Dockerfile"}) {
			t.Errorf("%q: build %+v, want the root", yml, b)
		}
	}
}

func TestParseManifestConvoxErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		yml  string
		env  Env
		want string
	}{
		{"port empty after interpolation", "services:\n  web:\n    image: x\n    port: ${PORT}\n", nil, `convox.yml:4: services.web.port: is empty: give a number between 1 and 65535, or leave the port out (after interpolating ${PORT}): fix the port or the value of PORT`},
		{"port scheme unknown", "services:\n  web:\n    image: x\n    port: tcp:80\n", nil, `convox.yml:4: services.web.port: unknown scheme "tcp": use http, https or grpc`},
		{"port text", "services:\n  web:\n    image: x\n    port: web\n", nil, `convox.yml:4: services.web.port: must be a port between 1 and 65535, optionally after a scheme like https:3000, not "web"`},
		{"port map without port", "services:\n  web:\n    image: x\n    port: {scheme: https}\n", nil, `convox.yml:4: services.web.port: needs a port: write {port: 3000, scheme: https}`},
		{"port map scheme", "services:\n  web:\n    image: x\n    port: {port: 80, scheme: ftp}\n", nil, `convox.yml:4: services.web.port.scheme: unknown scheme "ftp": use http, https or grpc`},
		{"ports protocol", "services:\n  web:\n    image: x\n    ports: [53/sctp]\n", nil, `convox.yml:4: services.web.ports[0]: unknown protocol "sctp": use tcp or udp`},
		{"ports twice", "services:\n  web:\n    image: x\n    ports:\n      - 5000\n      - 5000/tcp\n", nil, `convox.yml:6: services.web.ports[1]: port 5000/tcp is listed twice: keep one`},
		{"ports range", "services:\n  web:\n    image: x\n    ports: [70000]\n", nil, `convox.yml:4: services.web.ports[0]: must be a number between 1 and 65535`},
		{"ports not a list", "services:\n  web:\n    image: x\n    ports: 5000\n", nil, `convox.yml:4: services.web.ports: must be a list of ports like 5000 or "5000/udp", not a number`},
		{"domain invalid", "services:\n  web:\n    image: x\n    port: 80\n    domain: bad_name.example.org\n", nil, `convox.yml:5: services.web.domain: invalid domain "bad_name.example.org": use a DNS name like app.example.org (a leading "*." is allowed)`},
		{"domain list item", "services:\n  web:\n    image: x\n    port: 80\n    domain:\n      - ok.example.org\n      - https://x.org\n", nil, `convox.yml:7: services.web.domain[1]: invalid domain "https://x.org": use a DNS name like app.example.org (a leading "*." is allowed)`},
		{"domain map", "services:\n  web:\n    image: x\n    domain: {a: b}\n", nil, `convox.yml:4: services.web.domain: must be a domain name or a list of them, not a map`},
		{"internal and internal router", "services:\n  web:\n    image: x\n    internal: true\n    internalRouter: true\n", nil, `convox.yml:5: services.web.internalRouter: cannot be true with internal: true: internal keeps the service off every router, so set one of them`},
		{"bool as text", "services:\n  web:\n    image: x\n    sticky: \"true\"\n", nil, `convox.yml:4: services.web.sticky: must be true or false, not a string`},
		{"tls redirect", "services:\n  web:\n    image: x\n    tls: {redirect: 1}\n", nil, `convox.yml:4: services.web.tls.redirect: must be true or false, not a number`},
		{"timeout", "services:\n  web:\n    image: x\n    timeout: 3601\n", nil, `convox.yml:4: services.web.timeout: must be a number of seconds between 0 and 3600`},
		{"whitelist", "services:\n  web:\n    image: x\n    whitelist: 10.0.0.0/8,10.0.0.300\n", nil, `convox.yml:4: services.web.whitelist: invalid CIDR block "10.0.0.300": write one like 10.0.0.0/8 or 203.0.113.7`},
		{"liveness path", "services:\n  web:\n    image: x\n    port: 80\n    liveness: {path: live}\n", nil, `convox.yml:5: services.web.liveness.path: must start with "/", like "/health", not "live"`},
		{"liveness success", "services:\n  web:\n    image: x\n    port: 80\n    liveness: {path: /l, successThreshold: 2}\n", nil, `convox.yml:5: services.web.liveness.successThreshold: must be 1: Kubernetes takes one success as enough for this check`},
		{"startup probe both", "services:\n  web:\n    image: x\n    port: 80\n    startupProbe:\n      path: /s\n      tcpSocketPort: 80\n", nil, `convox.yml:7: services.web.startupProbe.tcpSocketPort: cannot be set with path: a startup probe checks one way, so keep one`},
		{"startup probe port", "services:\n  web:\n    image: x\n    port: 80\n    startupProbe: {tcpSocketPort: http}\n", nil, `convox.yml:5: services.web.startupProbe.tcpSocketPort: must be a number between 1 and 65535, not "http"`},
		{"scale plus", "services:\n  web:\n    image: x\n    scale: {count: 2+}\n", nil, `convox.yml:4: services.web.scale.count: must be a whole number of processes between 0 and 1000, or a range like "1-5", not "2+"`},
		{"scale text", "services:\n  web:\n    image: x\n    scale: many\n", nil, `convox.yml:4: services.web.scale: must be a whole number of processes between 0 and 1000, or a range like "1-5", not "many"`},
		{"scale range backwards", "services:\n  web:\n    image: x\n    scale: 5-1\n", nil, `convox.yml:4: services.web.scale: the maximum (1) is less than the minimum (5): write the smaller number first`},
		{"scale range too big", "services:\n  web:\n    image: x\n    scale: 1-1001\n", nil, `convox.yml:4: services.web.scale: must be a whole number of processes between 0 and 1000, or a range like "1-5", not "1-1001"`},
		{"scale count map without max", "services:\n  web:\n    image: x\n    scale:\n      count: {min: 2}\n", nil, `convox.yml:5: services.web.scale.count: needs a max as well as a min: write {min: 2, max: N}`},
		{"scale max below min", "services:\n  web:\n    image: x\n    scale:\n      min: 3\n      max: 2\n", nil, `convox.yml:6: services.web.scale.max: the maximum (2) is less than the minimum (3): raise it`},
		{"scale target", "services:\n  web:\n    image: x\n    scale: {targets: {cpu: 101}}\n", nil, `convox.yml:4: services.web.scale.targets.cpu: must be a percentage between 1 and 100`},
		{"scale limit below request", "services:\n  web:\n    image: x\n    scale:\n      cpu: 500\n      limit:\n        cpu: 250\n", nil, `convox.yml:7: services.web.scale.limit.cpu: must be at least the cpu request (500 millicores): raise it or lower scale.cpu`},
		{"scale limit memory", "services:\n  web:\n    image: x\n    scale: {memory: 1024, limit: {memory: 512}}\n", nil, `convox.yml:4: services.web.scale.limit.memory: must be at least the memory request (1024 MB): raise it or lower scale.memory`},
		{"agent text", "services:\n  web:\n    image: x\n    agent: yes please\n", nil, `convox.yml:4: services.web.agent: must be true or false, not a string`},
		{"lifecycle quote", "services:\n  web:\n    image: x\n    lifecycle: {preStop: \"sh -c 'x\"}\n", nil, `convox.yml:4: services.web.lifecycle.preStop: unterminated ' quote: close it`},
		{"volume relative", "services:\n  web:\n    image: x\n    volumes: [data]\n", nil, `convox.yml:4: services.web.volumes[0]: must mount at an absolute path like /data, not "data"`},
		{"volume twice", "services:\n  web:\n    image: x\n    volumes: [/data, \"d:/data/\"]\n", nil, `convox.yml:4: services.web.volumes[1]: mounts a second volume at "/data": keep one`},
		{"volume name", "services:\n  web:\n    image: x\n    volumes: [\"My_Data:/data\"]\n", nil, `convox.yml:4: services.web.volumes[0]: invalid volume name "My_Data": use at most 56 lower-case letters, digits and dashes, starting and ending with a letter or digit`},
		{"volume option without a path", "services:\n  web:\n    image: x\n    volumeOptions: [{emptyDir: {id: a}}]\n", nil, `convox.yml:4: services.web.volumeOptions[0].emptyDir: needs mountPath: write {id: data, mountPath: /data}`},
		{"init container image", "services:\n  web:\n    image: x\n    initContainer: {image: \"\"}\n", nil, `convox.yml:4: services.web.initContainer.image: must not be empty: give an image such as "nginx:1.27" or use build`},
		{"node selector value", "services:\n  web:\n    image: x\n    nodeSelectorLabels: {pool: \"a b\"}\n", nil, `convox.yml:4: services.web.nodeSelectorLabels.pool: invalid label value "a b": use at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit, or nothing`},
		{"service resource unknown", "services:\n  web:\n    image: x\n    resources: [db]\n", nil, `convox.yml:4: services.web.resources[0]: no resource "db" in the top-level resources: add it there or remove it here`},
		{"label reserved at the top", "labels: {app: x}\nservices:\n  web: {image: x}\n", nil, `convox.yml:1: labels.app: label "app" is set by slipway: use another key`},

		// resources
		{"resource rds", "resources:\n  main-db:\n    type: rds-postgres\nservices:\n  web: {image: x}\n", nil, `convox.yml:3: resources.main-db: type "rds-postgres" is a managed cloud database that slipway does not run: remove it and set MAIN_DB_URL in the app's env (slipway env set MAIN_DB_URL=...)`},
		{"resource elasticache", "resources:\n  cache:\n    type: elasticache-redis\nservices:\n  web: {image: x}\n", nil, `convox.yml:3: resources.cache: type "elasticache-redis" is a managed cloud database that slipway does not run: remove it and set CACHE_URL in the app's env (slipway env set CACHE_URL=...)`},
		{"resource efs", "resources:\n  files:\n    type: efs\nservices:\n  web: {image: x}\n", nil, `convox.yml:3: resources.files: type efs is a managed cloud file system that slipway does not run: remove it and mount a shared volume instead (volumes: ["files:/path"])`},
		{"resource unknown type", "resources:\n  db:\n    type: mongo\nservices:\n  web: {image: x}\n", nil, `convox.yml:3: resources.db.type: unknown resource type "mongo": use one of mariadb, memcached, mysql, postgres, redis`},
		{"resource without type", "resources:\n  db:\n    options: {}\nservices:\n  web: {image: x}\n", nil, `convox.yml:2: resources.db: needs a type: use one of mariadb, memcached, mysql, postgres, redis`},
		{"resource name", "resources:\n  my_db:\n    type: redis\nservices:\n  web: {image: x}\n", nil, `convox.yml:2: resources.my_db: invalid resource name: use at most 63 lower-case letters, digits and dashes, starting with a letter and not ending with a dash`},
		{"resource option list", "resources:\n  db:\n    type: redis\n    options: {a: [1]}\nservices:\n  web: {image: x}\n", nil, `convox.yml:4: resources.db.options.a: must be a single value, not a list`},

		// timers
		{"timer without schedule", "services:\n  web: {image: x}\ntimers:\n  t:\n    service: web\n", nil, `convox.yml:4: timers.t: needs a schedule: write a cron expression like "0 * * * *" (every hour, UTC)`},
		{"timer schedule fields", "services:\n  web: {image: x}\ntimers:\n  t:\n    schedule: \"0 * * *\"\n    service: web\n", nil, `convox.yml:5: timers.t.schedule: must have five fields (minute hour day month weekday) like "0 * * * *", not "0 * * *"`},
		{"timer schedule text", "services:\n  web: {image: x}\ntimers:\n  t:\n    schedule: \"0 * * * $\"\n    service: web\n", nil, `convox.yml:5: timers.t.schedule: is not a cron expression "0 * * * $": use five fields of digits, *, ",", "-" and "/" like "*/15 * * * *"`},
		{"timer without service", "services:\n  web: {image: x}\ntimers:\n  t:\n    schedule: \"* * * * *\"\n", nil, `convox.yml:4: timers.t: needs a service: name one of the manifest's services`},
		{"timer unknown service", "services:\n  web: {image: x}\ntimers:\n  t:\n    schedule: \"* * * * *\"\n    service: worker\n", nil, `convox.yml:6: timers.t.service: no service "worker" in the manifest: name one of its services`},
		{"timer concurrency", "services:\n  web: {image: x}\ntimers:\n  t:\n    schedule: \"* * * * *\"\n    service: web\n    concurrency: sometimes\n", nil, `convox.yml:7: timers.t.concurrency: unknown concurrency "sometimes": use Allow, Forbid or Replace`},
		{"timer parallel", "services:\n  web: {image: x}\ntimers:\n  t:\n    schedule: \"* * * * *\"\n    service: web\n    parallelCount: 101\n", nil, `convox.yml:7: timers.t.parallelCount: must be a whole number of processes between 1 and 100`},
		{"timer name", "services:\n  web: {image: x}\ntimers:\n  T1:\n    schedule: \"* * * * *\"\n    service: web\n", nil, `convox.yml:4: timers.T1: invalid timer name: use at most 63 lower-case letters, digits and dashes, starting with a letter and not ending with a dash`},

		// balancers
		{"balancer without ports", "services:\n  web: {image: x}\nbalancers:\n  b:\n    service: web\n", nil, `convox.yml:4: balancers.b: needs ports: write ports: {"80": 3000} to forward port 80 to the service's 3000`},
		{"balancer port", "services:\n  web: {image: x}\nbalancers:\n  b:\n    service: web\n    ports:\n      http: 3000\n", nil, `convox.yml:7: balancers.b.ports.http: the balancer port must be a number between 1 and 65535`},
		{"balancer target", "services:\n  web: {image: x}\nbalancers:\n  b:\n    service: web\n    ports:\n      80: 0\n", nil, `convox.yml:7: balancers.b.ports.80: must be a number between 1 and 65535`},
		{"balancer protocol", "services:\n  web: {image: x}\nbalancers:\n  b:\n    service: web\n    ports:\n      53: {port: 53, protocol: sctp}\n", nil, `convox.yml:7: balancers.b.ports.53: unknown protocol "sctp": use tcp or udp`},
		{"balancer service", "services:\n  web: {image: x}\nbalancers:\n  b:\n    service: api\n    ports: {80: 3000}\n", nil, `convox.yml:5: balancers.b.service: no service "api" in the manifest: name one of its services`},
		{"balancer whitelist", "services:\n  web: {image: x}\nbalancers:\n  b:\n    service: web\n    ports: {80: 3000}\n    whitelist: [nowhere]\n", nil, `convox.yml:7: balancers.b.whitelist[0]: invalid CIDR block "nowhere": write one like 10.0.0.0/8 or 203.0.113.7`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ParseManifest([]byte(tc.yml), tc.env)
			if err == nil {
				t.Fatalf("ParseManifest:\n%s\n= %s, want error %s", tc.yml, js(m), tc.want)
			}
			if err.Error() != tc.want {
				t.Fatalf("ParseManifest:\n%s\n got: %s\nwant: %s", tc.yml, err, tc.want)
			}
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("error spans lines: %q", err)
			}
		})
	}
}

// Convox flattens a list inside an environment list, one level, which is
// how a YAML anchor of entries is shared.
func TestParseManifestEnvironmentAnchors(t *testing.T) {
	m := mustParse(t, "environment: &common [A=1, B]\nservices:\n  web:\n    image: x\n    environment: [*common, C=3]\n", nil)
	want := []EnvVar{{Key: "A", Default: "1"}, {Key: "B", Required: true}, {Key: "C", Default: "3"}}
	if s, _ := m.Service("web"); !reflect.DeepEqual(s.Environment, want) {
		t.Fatalf("environment %s, want %s", js(s.Environment), js(want))
	}
	// Two levels are not flattened, and a list that holds itself ends.
	for _, yml := range []string{
		"services:\n  web:\n    image: x\n    environment: [[[A]]]\n",
		"services:\n  web:\n    image: x\n    environment: &e [*e]\n",
	} {
		if _, err := ParseManifest([]byte(yml), nil); err == nil || !strings.Contains(err.Error(), "must be a string like KEY or KEY=default, not a list") {
			t.Errorf("%q: error %v", yml, err)
		}
	}
}
