package postfix

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/testutil"
)

// Options configures a private Postfix instance.
type Options struct {
	// RelayHost is the "host:port" every message is relayed to
	// (relayhost = [host]:port). Required.
	RelayHost string
	// Addr is where smtpd listens; "" picks a free 127.0.0.1 port.
	Addr string
	// Hostname is myhostname; default "postfix.test". It must differ from
	// the relay's greeting name, or Postfix reports a mail loop.
	Hostname string
	// Main overrides or adds main.cf parameters.
	Main map[string]string
}

// Instance is a running private Postfix: master(8) and its daemons, with
// every file below one temporary directory.
type Instance struct {
	Addr      string // smtpd's 127.0.0.1:PORT
	Dir       string // root of the instance
	ConfigDir string // main.cf and master.cf; pass to postfix -c
	QueueDir  string // queue_directory
	LogFile   string // maillog_file

	tools Tools
	proc  *process
	out   *tailBuffer
}

// MainConfig returns the main.cf parameters of an instance rooted at dir.
// Durability: these are Postfix's defaults for queue handling — cleanup(8)
// fsyncs each queue file before smtpd replies 250, and nothing here turns
// that off — so Postfix is measured as an equally durable relay.
func MainConfig(dir string, opts Options) map[string]string {
	host := opts.Hostname
	if host == "" {
		host = "postfix.test"
	}
	main := map[string]string{
		"compatibility_level":      "3.6",
		"queue_directory":          filepath.Join(dir, "spool"),
		"data_directory":           filepath.Join(dir, "data"),
		"mail_owner":               "postfix",
		"setgid_group":             "postdrop",
		"myhostname":               host,
		"mydomain":                 "test",
		"myorigin":                 "$myhostname",
		"mydestination":            "",
		"local_transport":          "error:5.1.1 local delivery is disabled",
		"alias_maps":               "",
		"alias_database":           "",
		"inet_interfaces":          "127.0.0.1",
		"inet_protocols":           "ipv4",
		"mynetworks":               "127.0.0.0/8",
		"relayhost":                relayHost(opts.RelayHost),
		"maillog_file":             filepath.Join(dir, "maillog"),
		"maillog_file_prefixes":    dir,
		"smtpd_tls_security_level": "none",
		"smtp_tls_security_level":  "none",
		"smtpd_banner":             "$myhostname ESMTP",
		"biff":                     "no",
		// Retry quickly: tests restart upstreams within seconds.
		"queue_run_delay":      "1s",
		"minimal_backoff_time": "1s",
		"maximal_backoff_time": "2s",
		"smtp_connect_timeout": "5s",
	}
	for k, v := range opts.Main {
		main[k] = v
	}
	return main
}

func relayHost(hostport string) string {
	host, port, ok := strings.Cut(hostport, ":")
	if !ok {
		return "[" + hostport + "]"
	}
	return "[" + host + "]:" + port
}

// renderMain writes parameters in sorted order.
func renderMain(params map[string]string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("# Written by internal/testutil/postfix for one test.\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "%s = %s\n", k, params[k])
	}
	return b.String()
}

// MasterConfig returns a master.cf with smtpd on addr and the services a
// relay-only Postfix needs, none of them chrooted (a chroot would need
// copies of /etc files under the queue directory).
func MasterConfig(addr string) string {
	return addr + ` inet n - n - - smtpd
pickup     unix  n - n 60 1 pickup
cleanup    unix  n - n -  0 cleanup
qmgr       unix  n - n 300 1 qmgr
rewrite    unix  - - n -  - trivial-rewrite
bounce     unix  - - n -  0 bounce
defer      unix  - - n -  0 bounce
trace      unix  - - n -  0 bounce
verify     unix  - - n -  1 verify
flush      unix  n - n 1000? 0 flush
proxymap   unix  - - n -  - proxymap
proxywrite unix  - - n -  1 proxymap
smtp       unix  - - n -  - smtp
relay      unix  - - n -  - smtp
showq      unix  n - n -  - showq
error      unix  - - n -  - error
retry      unix  - - n -  - error
discard    unix  - - n -  - discard
anvil      unix  - - n -  1 anvil
scache     unix  - - n -  1 scache
postlog    unix-dgram n - n - 1 postlogd
`
}

// StartInstance writes the configuration of a private Postfix under
// t.TempDir(), starts its master in the foreground of a child process
// ("postfix -c DIR start-fg", so the test owns and reaps it), waits for
// smtpd to listen, and in t.Cleanup runs "postfix -c DIR stop" and kills
// whatever is left. It needs root (see RequireRoot).
func StartInstance(t testing.TB, tools Tools, opts Options) *Instance {
	t.Helper()
	RequireRoot(t)
	if opts.RelayHost == "" {
		t.Fatal("postfix.StartInstance: Options.RelayHost is required")
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		inst, err := startInstance(t, tools, opts)
		if err == nil {
			return inst
		}
		lastErr = err
		if opts.Addr != "" {
			break
		}
	}
	t.Fatalf("starting Postfix: %v", lastErr)
	return nil
}

func startInstance(t testing.TB, tools Tools, opts Options) (*Instance, error) {
	dir := t.TempDir()
	addr := opts.Addr
	if addr == "" {
		addr = FreeAddr(t)
	}
	inst := &Instance{
		Addr:      addr,
		Dir:       dir,
		ConfigDir: filepath.Join(dir, "etc"),
		QueueDir:  filepath.Join(dir, "spool"),
		LogFile:   filepath.Join(dir, "maillog"),
		tools:     tools,
		out:       newTailBuffer(16 << 10),
	}
	if err := inst.layout(opts); err != nil {
		return nil, err
	}
	cmd := exec.Command(tools.Postfix, "-c", inst.ConfigDir, "start-fg")
	cmd.Stdout = inst.out
	cmd.Stderr = inst.out
	p, err := startProcess(cmd)
	if err != nil {
		return nil, err
	}
	inst.proc = p
	t.Cleanup(func() {
		if err := inst.stop(); err != nil {
			t.Errorf("stopping Postfix in %s: %v", dir, err)
		}
		if t.Failed() {
			t.Logf("Postfix %s output:\n%s\nmaillog tail:\n%s", addr, inst.out.String(), inst.LogTail(40))
		}
	})
	if err := WaitListening(addr, 30*time.Second, p.alive); err != nil {
		return nil, fmt.Errorf("%w\noutput: %s\nmaillog: %s", err, inst.out.String(), inst.LogTail(20))
	}
	return inst, nil
}

// layout creates the directories and configuration files. Postfix wants the
// queue directory owned by root and the data directory by mail_owner, and
// its unprivileged daemons must be able to traverse the path to both.
func (inst *Instance) layout(opts Options) error {
	pf, err := user.Lookup("postfix")
	if err != nil {
		return fmt.Errorf("postfix user: %w", err)
	}
	uid, err := strconv.Atoi(pf.Uid)
	if err != nil {
		return err
	}
	gid, err := strconv.Atoi(pf.Gid)
	if err != nil {
		return err
	}
	for _, d := range []string{inst.ConfigDir, inst.QueueDir, filepath.Join(inst.Dir, "data")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if err := os.Chown(filepath.Join(inst.Dir, "data"), uid, gid); err != nil {
		return err
	}
	if err := openUp(inst.QueueDir); err != nil {
		return err
	}
	main := renderMain(MainConfig(inst.Dir, opts))
	if err := os.WriteFile(filepath.Join(inst.ConfigDir, "main.cf"), []byte(main), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(inst.ConfigDir, "master.cf"), []byte(MasterConfig(inst.Addr)), 0o644)
}

// stop asks Postfix to stop, then kills the master's process group if it is
// still there after 20 s.
func (inst *Instance) stop() error {
	if inst.proc == nil || !inst.proc.alive() {
		return nil
	}
	out, err := exec.Command(inst.tools.Postfix, "-c", inst.ConfigDir, "stop").CombinedOutput()
	if err == nil && inst.proc.wait(20*time.Second) {
		return nil
	}
	if err != nil {
		inst.out.Write(append([]byte("postfix stop: "), out...))
	}
	return inst.proc.stop(2 * time.Second)
}

// LogTail returns the last n lines of the instance's mail log.
func (inst *Instance) LogTail(n int) string {
	return testutil.TailFile(inst.LogFile, n)
}

// QueueLen returns how many messages are in the instance's queue, from
// "postqueue -j" (one JSON object per message).
func (inst *Instance) QueueLen(t testing.TB) int {
	t.Helper()
	out, err := exec.Command(inst.tools.Postqueue, "-c", inst.ConfigDir, "-j").Output()
	if err != nil {
		t.Fatalf("postqueue -j: %v", err)
	}
	n := 0
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "{") {
			n++
		}
	}
	return n
}

// WaitQueueEmpty polls QueueLen until it is 0, failing after timeout.
func (inst *Instance) WaitQueueEmpty(t testing.TB, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		n := inst.QueueLen(t)
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Postfix queue still holds %d messages after %v", n, timeout)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Flush asks Postfix to retry deferred mail now (postqueue -f).
func (inst *Instance) Flush(t testing.TB) {
	t.Helper()
	if out, err := exec.Command(inst.tools.Postqueue, "-c", inst.ConfigDir, "-f").CombinedOutput(); err != nil {
		t.Fatalf("postqueue -f: %v\n%s", err, out)
	}
}
