package prod

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// PostgresBin is where Debian's postgresql-15 package puts the server.
const PostgresBin = "/usr/lib/postgresql/15/bin"

// postgres is a PostgreSQL 15 server for one test: its data in a fresh
// folder, listening on 127.0.0.1 on a free port, with a `temporal`
// superuser that logs in without a password (trust, on loopback only).
type postgres struct {
	dir  string // data, socket and log
	port int
	cred *syscall.Credential // nil: run as ourselves
	proc *proc
}

// startPostgres initialises a database cluster and starts its server.
// PostgreSQL refuses to run as root, and CI runs as root: then it runs as
// nobody:nogroup, in dir, which it then owns (every folder above dir must
// let others through: not t.TempDir(), whose parents are 0700).
func startPostgres(ctx context.Context, dir string, port int) (*postgres, error) {
	for _, b := range []string{"initdb", "postgres", "pg_isready"} {
		if _, err := os.Stat(filepath.Join(PostgresBin, b)); err != nil {
			return nil, fmt.Errorf("%s is missing: install the Debian package postgresql-15", filepath.Join(PostgresBin, b))
		}
	}
	cred, err := unprivileged()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	pg := &postgres{dir: dir, port: port, cred: cred}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return pg, err
		}
		if err := reachable(dir); err != nil {
			return pg, err
		}
	}
	data := filepath.Join(dir, "data")
	initdb := exec.CommandContext(ctx, filepath.Join(PostgresBin, "initdb"), "-D", data, "-U", "temporal",
		"--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync")
	initdb.Dir = dir
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		return pg, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	server := exec.Command(filepath.Join(PostgresBin, "postgres"), "-D", data,
		"-p", strconv.Itoa(pg.port), "-k", dir, "-c", "listen_addresses=127.0.0.1",
		// Temporal's four services each open a pool per store.
		"-c", "max_connections=300",
		// The database lives for one test: surviving a power cut is not
		// what it is here for, and syncing every commit slows the test.
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	server.Dir = dir
	if pg.proc, err = startProc("postgres", server, filepath.Join(dir, "postgres.log"), cred); err != nil {
		return pg, err
	}
	// SIGINT is PostgreSQL's fast shutdown: it does not wait for clients.
	pg.proc.stopBy = syscall.SIGINT
	return pg, pg.wait(ctx)
}

// wait returns once pg_isready says the server accepts connections.
func (pg *postgres) wait(ctx context.Context) error {
	var last []byte
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		if err := pg.proc.alive(); err != nil {
			return false, err
		}
		var err error
		last, err = exec.CommandContext(ctx, filepath.Join(PostgresBin, "pg_isready"), "-h", "127.0.0.1", "-p", strconv.Itoa(pg.port), "-U", "temporal", "-t", "2").CombinedOutput()
		return err == nil, nil
	})
	if err != nil {
		return fmt.Errorf("postgres not ready: %v (pg_isready: %s; log %s)", err, last, pg.proc.log)
	}
	return nil
}

func (pg *postgres) detail() string {
	who := "as yourself"
	if pg.cred != nil {
		who = fmt.Sprintf("as uid %d", pg.cred.Uid)
	}
	return fmt.Sprintf("127.0.0.1:%d  %s  data %s", pg.port, who, pg.dir)
}

// stop shuts the server down and deletes its data.
func (pg *postgres) stop() error {
	if pg == nil {
		return nil
	}
	pg.proc.stop(20 * time.Second)
	return os.RemoveAll(pg.dir)
}

// unprivileged is nobody:nogroup when we run as root, else nil.
func unprivileged() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		return nil, fmt.Errorf("running as root, PostgreSQL must run as another user, and user nobody is missing: %w", err)
	}
	g, err := user.LookupGroup("nogroup")
	if err != nil {
		return nil, fmt.Errorf("running as root, PostgreSQL must run as another user, and group nogroup is missing: %w", err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, err
	}
	gid, err := strconv.ParseUint(g.Gid, 10, 32)
	if err != nil {
		return nil, err
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// reachable checks that every folder above dir lets others through, so
// the unprivileged user can reach its own folder.
func reachable(dir string) error {
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("PostgreSQL runs as nobody and cannot pass through %s (mode %s): point TMPDIR at a folder others may enter, such as /tmp", d, fi.Mode().Perm())
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}
