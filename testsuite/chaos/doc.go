// Package chaos runs promotions on the local stack while faults outside the
// app's pods strike (a worker killed, Temporal or kube-apiserver restarted,
// the release's env deleted, writes denied, a full quota or cluster, the
// workflow cancelled or terminated, operator signals), and checks after
// each that slipway kept its promise: the promotion ended active or
// completely rolled back, never half way, never stuck. The fault schedule
// (package plan) is a pure function of a seed, which every run prints;
// package verdict holds the invariants.
//
//	go test ./testsuite/chaos -run TestChaos -args -seed=42 -n=200
package chaos
