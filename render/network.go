package render

import (
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	networkingv1ac "k8s.io/client-go/applyconfigurations/networking/v1"

	"github.com/slipway-dev/slipway/model"
)

// How a service is reached: its cluster Service (the port and the extra
// ports), the Ingress for its domains, and the load balancers in front of
// it.

func service(in Input, svc model.Service) *corev1ac.ServiceApplyConfiguration {
	spec := corev1ac.ServiceSpec().WithSelector(selector(in, svc))
	if svc.Port > 0 {
		spec.WithPorts(corev1ac.ServicePort().
			WithName("main").WithPort(int32(svc.Port)).WithTargetPort(intstr.FromString("main")).WithProtocol(corev1.ProtocolTCP))
	}
	for _, p := range svc.Ports {
		name := extraPortName(p)
		spec.WithPorts(corev1ac.ServicePort().
			WithName(name).WithPort(int32(p.Port)).WithTargetPort(intstr.FromString(name)).WithProtocol(corev1.Protocol(p.Protocol)))
	}
	if svc.Sticky {
		spec.WithSessionAffinity(corev1.ServiceAffinityClientIP)
	}
	return corev1ac.Service(svc.Name, in.Namespace).
		WithLabels(labels(in, svc)).
		WithSpec(spec)
}

// Annotations of ingress-nginx, the controller Convox racks run, for what
// a convox.yml says about a service's routing.
const (
	annBackendProtocol = "nginx.ingress.kubernetes.io/backend-protocol"
	annSSLRedirect     = "nginx.ingress.kubernetes.io/ssl-redirect"
	annReadTimeout     = "nginx.ingress.kubernetes.io/proxy-read-timeout"
	annSendTimeout     = "nginx.ingress.kubernetes.io/proxy-send-timeout"
	annAffinity        = "nginx.ingress.kubernetes.io/affinity"
	annWhitelist       = "nginx.ingress.kubernetes.io/whitelist-source-range"
)

// IngressTLSSecret is the Secret that holds the certificate of a
// service's domains (a certificate manager fills it, as on a Convox rack).
func IngressTLSSecret(service string) string { return service + "-tls" }

// ingress routes svc's domains to its port: on the public class, or on
// the internal one for an internalRouter service. An internal service
// without internalRouter, or one without domains or a port, has none.
func ingress(in Input, svc model.Service) *networkingv1ac.IngressApplyConfiguration {
	if !routed(svc) {
		return nil
	}
	classes := in.Ingress
	if classes == (IngressClasses{}) {
		classes = DefaultIngressClasses
	}
	class := classes.Public
	if svc.Internal || svc.InternalRouter {
		class = classes.Internal
	}
	ann := map[string]string{}
	for k, v := range svc.IngressAnnotations {
		ann[k] = v
	}
	timeout := strconv.Itoa(svc.Timeout)
	ann[annReadTimeout], ann[annSendTimeout] = timeout, timeout
	ann[annSSLRedirect] = strconv.FormatBool(svc.TLS.Redirect)
	switch svc.Scheme {
	case "https":
		ann[annBackendProtocol] = "HTTPS"
	case "grpc":
		ann[annBackendProtocol] = "GRPC"
	}
	if svc.Sticky {
		ann[annAffinity] = "cookie"
	}
	if len(svc.Whitelist) > 0 {
		ann[annWhitelist] = strings.Join(svc.Whitelist, ",")
	}
	backend := networkingv1ac.IngressBackend().WithService(
		networkingv1ac.IngressServiceBackend().WithName(svc.Name).WithPort(networkingv1ac.ServiceBackendPort().WithName("main")))
	spec := networkingv1ac.IngressSpec().WithIngressClassName(class).
		WithTLS(networkingv1ac.IngressTLS().WithHosts(svc.Domains...).WithSecretName(IngressTLSSecret(svc.Name)))
	for _, host := range svc.Domains {
		spec.WithRules(networkingv1ac.IngressRule().WithHost(host).WithHTTP(
			networkingv1ac.HTTPIngressRuleValue().WithPaths(networkingv1ac.HTTPIngressPath().
				WithPath("/").WithPathType("Prefix").WithBackend(backend))))
	}
	return networkingv1ac.Ingress(svc.Name, in.Namespace).
		WithLabels(labels(in, svc)).
		WithAnnotations(ann).
		WithSpec(spec)
}

// routed reports whether svc has an Ingress: a port, domains, and not
// internal unless through the internal router.
func routed(svc model.Service) bool {
	return svc.Port > 0 && len(svc.Domains) > 0 && (!svc.Internal || svc.InternalRouter)
}

// BalancerName is the Service of a balancer (Release refuses a manifest
// where it is also a service's name).
func BalancerName(name string) string { return "balancer-" + name }

// balancer is a LoadBalancer Service that forwards each of b's ports to
// svc.
func balancer(in Input, svc model.Service, b model.Balancer) *corev1ac.ServiceApplyConfiguration {
	spec := corev1ac.ServiceSpec().
		WithType(corev1.ServiceTypeLoadBalancer).
		WithSelector(selector(in, svc)).
		WithLoadBalancerSourceRanges(b.Whitelist...)
	for _, p := range b.Ports {
		spec.WithPorts(corev1ac.ServicePort().
			WithName(strings.ToLower(p.Protocol) + "-" + strconv.Itoa(p.Source)).
			WithPort(int32(p.Source)).WithTargetPort(intstr.FromInt32(int32(p.Target))).
			WithProtocol(corev1.Protocol(p.Protocol)))
	}
	return corev1ac.Service(BalancerName(b.Name), in.Namespace).
		WithLabels(labels(in, svc)).
		WithSpec(spec)
}
