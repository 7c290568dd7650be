package activities

import (
	"context"
	"crypto/rand"
	"slices"

	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/render"
)

// Applying and pruning what a release renders to. Every object carries the
// app, service and release labels; the release label says which release
// last applied it, which is how a prune tells what the active release no
// longer has.

// apply applies the objects of one service, workload last, so that its
// processes start with their env, Service and routes in place.
func (a *Activities) apply(ctx context.Context, svc render.Service) error {
	c := a.Store.Core
	opts := metav1.ApplyOptions{FieldManager: records.FieldManager, Force: true}
	ns := *svc.Secret.Namespace
	if _, err := c.CoreV1().Secrets(ns).Apply(ctx, svc.Secret, opts); err != nil {
		return err
	}
	if svc.Service != nil {
		if _, err := c.CoreV1().Services(ns).Apply(ctx, svc.Service, opts); err != nil {
			return err
		}
	}
	for _, b := range svc.Balancers {
		if _, err := c.CoreV1().Services(ns).Apply(ctx, b, opts); err != nil {
			return err
		}
	}
	if svc.Ingress != nil {
		if _, err := c.NetworkingV1().Ingresses(ns).Apply(ctx, svc.Ingress, opts); err != nil {
			return err
		}
	}
	for _, t := range svc.Timers {
		if _, err := c.BatchV1().CronJobs(ns).Apply(ctx, t, opts); err != nil {
			return err
		}
	}
	if svc.DaemonSet != nil {
		_, err := c.AppsV1().DaemonSets(ns).Apply(ctx, svc.DaemonSet, opts)
		return err
	}
	d, err := c.AppsV1().Deployments(ns).Apply(ctx, svc.Deployment, opts)
	if err != nil {
		return err
	}
	if svc.Autoscaler != nil {
		// After the Deployment, which it scales.
		if _, err := c.AutoscalingV2().HorizontalPodAutoscalers(ns).Apply(ctx, svc.Autoscaler, opts); err != nil {
			return err
		}
	}
	// A pause made by SetPaused belongs to its own field manager, which
	// the apply above does not override: set it to what this apply wants.
	if want := ptr.Deref(svc.Deployment.Spec.Paused, false); d.Spec.Paused != want {
		return a.setPaused(ctx, d.Namespace, d.Name, want)
	}
	return nil
}

// applyResources makes the app's resources and shared volumes. Their
// credentials and claims are created once and then left alone (the data
// was made with them); their StatefulSets and Services are applied like
// any object, so a new version option takes effect. applyError sorts the
// API server's refusals: a rollback retries them.
func (a *Activities) applyResources(ctx context.Context, r rendered, applyError func(string, error) error) error {
	c := a.Store.Core
	for _, res := range r.in.Manifest.Resources {
		s, err := render.ResourceSecret(r.in, res, rand.Text())
		if err != nil {
			return permanent(ErrInvalid, err)
		}
		if _, err := c.CoreV1().Secrets(s.Namespace).Create(ctx, s, metav1.CreateOptions{FieldManager: records.FieldManager}); err != nil && !apierrors.IsAlreadyExists(err) {
			return applyError("resources."+res.Name, err)
		}
	}
	for _, pvc := range render.VolumeClaims(r.in) {
		if _, err := c.CoreV1().PersistentVolumeClaims(pvc.Namespace).Create(ctx, pvc, metav1.CreateOptions{FieldManager: records.FieldManager}); err != nil && !apierrors.IsAlreadyExists(err) {
			return applyError("volumes."+pvc.Name, err)
		}
	}
	opts := metav1.ApplyOptions{FieldManager: records.FieldManager, Force: true}
	for _, res := range r.resources {
		if _, err := c.CoreV1().Services(*res.Service.Namespace).Apply(ctx, res.Service, opts); err != nil {
			return applyError("resources."+res.Name, err)
		}
		if _, err := c.AppsV1().StatefulSets(*res.StatefulSet.Namespace).Apply(ctx, res.StatefulSet, opts); err != nil {
			return applyError("resources."+res.Name, err)
		}
		heartbeat(ctx, "resources."+res.Name)
	}
	return nil
}

// prune deletes what release does not run: the objects of services not in
// keep, and those the release did not apply (a route, autoscaler, timer or
// workload kind a service no longer has); and the env Secrets of releases
// not in keepReleases (nil: leave Secrets of kept services alone).
// Resources and shared volumes are never pruned: they go with the app.
func (a *Activities) prune(ctx context.Context, app string, keep []string, release string, keepReleases []string) error {
	c := a.Store.Core
	ns := a.Store.Namespace(app)
	sel := metav1.ListOptions{LabelSelector: render.LabelApp + "=" + app + "," + render.LabelManagedBy + "=slipway,!" + render.LabelResource}
	stale := func(o metav1.Object) bool {
		l := o.GetLabels()
		return !slices.Contains(keep, l[render.LabelService]) || l[render.LabelRelease] != release
	}
	bg := metav1.DeletePropagationBackground
	del := metav1.DeleteOptions{PropagationPolicy: &bg}
	secretStale := func(o metav1.Object) bool {
		l := o.GetLabels()
		return !slices.Contains(keep, l[render.LabelService]) || (keepReleases != nil && !slices.Contains(keepReleases, l[render.LabelRelease]))
	}
	kinds := []struct {
		list  func(context.Context) ([]metav1.Object, error)
		del   func(ctx context.Context, name string) error
		stale func(metav1.Object) bool
	}{
		{func(ctx context.Context) ([]metav1.Object, error) {
			return objects(c.AppsV1().Deployments(ns).List(ctx, sel))
		},
			func(ctx context.Context, n string) error { return c.AppsV1().Deployments(ns).Delete(ctx, n, del) }, stale},
		{func(ctx context.Context) ([]metav1.Object, error) {
			return objects(c.AppsV1().DaemonSets(ns).List(ctx, sel))
		},
			func(ctx context.Context, n string) error { return c.AppsV1().DaemonSets(ns).Delete(ctx, n, del) }, stale},
		{func(ctx context.Context) ([]metav1.Object, error) {
			return objects(c.AutoscalingV2().HorizontalPodAutoscalers(ns).List(ctx, sel))
		}, func(ctx context.Context, n string) error {
			return c.AutoscalingV2().HorizontalPodAutoscalers(ns).Delete(ctx, n, del)
		}, stale},
		{func(ctx context.Context) ([]metav1.Object, error) {
			return objects(c.CoreV1().Services(ns).List(ctx, sel))
		},
			func(ctx context.Context, n string) error { return c.CoreV1().Services(ns).Delete(ctx, n, del) }, stale},
		{func(ctx context.Context) ([]metav1.Object, error) {
			return objects(c.NetworkingV1().Ingresses(ns).List(ctx, sel))
		},
			func(ctx context.Context, n string) error { return c.NetworkingV1().Ingresses(ns).Delete(ctx, n, del) }, stale},
		{func(ctx context.Context) ([]metav1.Object, error) {
			return objects(c.BatchV1().CronJobs(ns).List(ctx, sel))
		},
			func(ctx context.Context, n string) error { return c.BatchV1().CronJobs(ns).Delete(ctx, n, del) }, stale},
		{func(ctx context.Context) ([]metav1.Object, error) {
			return objects(c.CoreV1().Secrets(ns).List(ctx, sel))
		},
			func(ctx context.Context, n string) error { return c.CoreV1().Secrets(ns).Delete(ctx, n, del) }, secretStale},
	}
	// Every kind is listed at once, then every stale object deleted at
	// once: a promotion's end waits for the slowest call, not their sum.
	doomed := make([][]string, len(kinds))
	lists, lctx := errgroup.WithContext(ctx)
	for i, k := range kinds {
		lists.Go(func() error {
			objs, err := k.list(lctx)
			for _, o := range objs {
				if k.stale(o) {
					doomed[i] = append(doomed[i], o.GetName())
				}
			}
			return err
		})
	}
	if err := lists.Wait(); err != nil {
		return err
	}
	dels, dctx := errgroup.WithContext(ctx)
	dels.SetLimit(applyConcurrency)
	for i, k := range kinds {
		for _, name := range doomed[i] {
			dels.Go(func() error { return ignoreNotFound(k.del(dctx, name)) })
		}
	}
	return dels.Wait()
}

// objects is a list's items as their metadata.
func objects(list runtime.Object, err error) ([]metav1.Object, error) {
	if err != nil {
		return nil, err
	}
	items, err := meta.ExtractList(list)
	if err != nil {
		return nil, err
	}
	out := make([]metav1.Object, 0, len(items))
	for _, it := range items {
		o, err := meta.Accessor(it)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

func ignoreNotFound(err error) error {
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
