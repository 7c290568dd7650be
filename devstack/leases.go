package devstack

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// nodeLeases is where kwok keeps a Lease per node, as kubelets do.
const nodeLeases = "kube-node-lease"

// takeOverNodeLeases lets the kwok controller of a restarted cluster
// manage its nodes at once. kwok holds each node's Lease for 200 s under
// an identity new to each run, and a new controller leaves a node alone
// until the previous run's Lease expires: until then no pod of the
// restarted stack starts, and the first promotion after `dev up` waits
// minutes. So when a Lease renewed before this start is still held, it
// stops the controller, deletes the Leases and starts the controller
// again, the way kwokctl started it.
func (k *kube) takeOverNodeLeases(ctx context.Context, started time.Time) error {
	c, err := k.client()
	if err != nil {
		return err
	}
	leases, err := c.CoordinationV1().Leases(nodeLeases).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	stale := false
	for _, l := range leases.Items {
		s := l.Spec
		if s.HolderIdentity == nil || s.RenewTime == nil || s.LeaseDurationSeconds == nil {
			continue
		}
		expires := s.RenewTime.Add(time.Duration(*s.LeaseDurationSeconds) * time.Second)
		if s.RenewTime.Time.Before(started) && expires.After(time.Now()) {
			stale = true
		}
	}
	if !stale {
		return nil
	}
	kwok, err := k.component("kwok-controller")
	if err != nil {
		return err
	}
	_, err = kwok.restart(func() error {
		if err := c.CoordinationV1().Leases(nodeLeases).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{}); err != nil {
			return fmt.Errorf("delete the previous run's node leases: %w", err)
		}
		return nil
	})
	return err
}
