package records

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var PromotionResource = schema.GroupVersionResource{Group: Group, Version: Version, Resource: "promotions"}

// Promotion is the lasting record of one promotion: Temporal keeps closed
// runs only for its retention, so what happened and why is kept here, with
// the workflow and run IDs to open the run in the UI while it exists.
type Promotion struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              PromotionSpec   `json:"spec"`
	Status            PromotionStatus `json:"status"`
}

type PromotionSpec struct {
	ID         string `json:"id"`
	App        string `json:"app"`
	Release    string `json:"release"`
	From       string `json:"from,omitempty"` // the active release before
	WorkflowID string `json:"workflowID"`
	RunID      string `json:"runID"`
	// Actor is who started the promotion (or "slipway reconciler").
	Actor string `json:"actor,omitempty"`
	// Started has microseconds: promotions of an app follow each other
	// within a second, and their order must not be a coin toss.
	Started metav1.MicroTime `json:"started"`
}

type PromotionStatus struct {
	Phase string `json:"phase"`
	// Result is "" while in flight, then model.ResultActive, model.ResultRolledBack or
	// model.ResultFailed (the rollback itself failed).
	Result   string            `json:"result,omitempty"`
	Reason   string            `json:"reason,omitempty"`
	Ended    *metav1.MicroTime `json:"ended,omitempty"`
	Services []ServiceProgress `json:"services,omitempty"`
	Steps    []Step            `json:"steps,omitempty"`
}

// ServiceProgress is one service's rollout, as `kubectl rollout status`
// counts it.
type ServiceProgress struct {
	Name      string `json:"name"`
	Desired   int32  `json:"desired"`
	Updated   int32  `json:"updated"`
	Ready     int32  `json:"ready"`
	Available int32  `json:"available"`
	Done      bool   `json:"done"`
	// Waiting is what a service whose workload has rolled out still waits
	// for before it counts as done: a pod that does not run the release
	// yet, or one still terminating.
	Waiting string `json:"waiting,omitempty"`
}

// Step is one thing a promotion did, for `promotions info`.
type Step struct {
	Time    metav1.Time `json:"time"`
	Message string      `json:"message"`
}

// PromotionName is the object name of a promotion ID.
func PromotionName(id string) string { return ObjectName(id) }

// CreatePromotion writes the record; a retry finds it written and returns it.
func (s *Store) CreatePromotion(ctx context.Context, p *Promotion) (*Promotion, error) {
	p.TypeMeta = typeMeta("Promotion")
	p.Name = PromotionName(p.Spec.ID)
	p.Namespace = s.Namespace(p.Spec.App)
	if p.Labels == nil {
		p.Labels = map[string]string{LabelApp: p.Spec.App}
	}
	out, err := create(ctx, s, PromotionResource, p.Namespace, p)
	if apierrors.IsAlreadyExists(err) {
		return s.GetPromotion(ctx, p.Spec.App, p.Spec.ID)
	}
	return out, err
}

func (s *Store) GetPromotion(ctx context.Context, app, id string) (*Promotion, error) {
	return get[Promotion](ctx, s, PromotionResource, s.Namespace(app), PromotionName(id), id)
}

// ListPromotions returns the app's promotions, newest first.
func (s *Store) ListPromotions(ctx context.Context, app string) ([]*Promotion, error) {
	ps, err := list[Promotion](ctx, s, PromotionResource, s.Namespace(app), metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	sortNewestFirst(ps, func(p *Promotion) time.Time { return p.Spec.Started.Time }, func(p *Promotion) string { return p.Spec.ID })
	return ps, nil
}

// UpdatePromotion applies change to the newest version of the record.
func (s *Store) UpdatePromotion(ctx context.Context, app, id string, change func(*Promotion)) (*Promotion, error) {
	return mutate(ctx, s, PromotionResource, s.Namespace(app), PromotionName(id), id, change)
}

// MutateApp applies change to the newest version of the app record.
func (s *Store) MutateApp(ctx context.Context, app string, change func(*App)) (*App, error) {
	return mutate(ctx, s, AppResource, s.Namespace(app), app, app, change)
}

// RecordEvent writes a Kubernetes Event on the app record, which is how a
// promotion's status changes reach `slipway releases promote` and `kubectl
// get events` in one stream. name makes it idempotent: a retried activity
// finds its event already written.
func (s *Store) RecordEvent(ctx context.Context, app *App, name, reason, message string) error {
	now := metav1.Now()
	ev := &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: app.Namespace},
		InvolvedObject: corev1.ObjectReference{
			APIVersion: Group + "/" + Version, Kind: "App", Name: app.Name, Namespace: app.Namespace, UID: app.UID,
		},
		Reason: reason, Message: message, Type: corev1.EventTypeNormal,
		Source:         corev1.EventSource{Component: "slipway"},
		FirstTimestamp: now, LastTimestamp: now, Count: 1,
	}
	_, err := s.Core.CoreV1().Events(app.Namespace).Create(ctx, ev, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("record event: %w", err)
	}
	return nil
}
