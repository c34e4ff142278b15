/**
 * The attacker's tool kit for attack.test.ts: small Python probes (the host image binds the host's /usr, so
 * python3 and ctypes are there) that each try one thing and answer in one word: `ok` when it worked, the
 * errno's name (`EPERM`, `EROFS`…) when the kernel refused it. Every probe runs in a forked child, so one
 * that changes its own process (chroot, unshare) leaves the next untouched. The same script runs on the
 * host, where the permission checks pass: that shows each probe can tell success from refusal.
 */
import { run } from '../src/run-command.js';

/** One probe: its name in KIT and its arguments (strings and numbers). */
export type Probe = [name: string, ...args: Array<string | number>];

const KIT = String.raw`
import ctypes, errno, json, os, platform, stat, struct, sys

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
NR = {
    'x86_64': dict(reboot=169, init_module=175, finit_module=313, kexec_load=246, keyctl=250, bpf=321,
                   open_by_handle_at=304, swapon=167, settimeofday=164, mount=165, unshare=272, ptrace=101),
    'aarch64': dict(reboot=142, init_module=105, finit_module=273, kexec_load=104, keyctl=219, bpf=280,
                    open_by_handle_at=265, swapon=224, settimeofday=170, mount=40, unshare=97, ptrace=117),
}[platform.machine()]

def name(e):
    return errno.errorcode.get(e, str(e))

def L(v):
    return ctypes.c_long(v)

def S(b):
    return ctypes.c_char_p(b)

def sc(nr, *args):
    ctypes.set_errno(0)
    r = libc.syscall(L(NR[nr]), *args)
    return 'ok' if r != -1 else name(ctypes.get_errno())

# System calls, each with arguments that do nothing once past the permission check.
def keyctl():  # KEYCTL_GET_KEYRING_ID of the session keyring
    return sc('keyctl', L(0), L(-3), L(0))
def bpf():  # BPF_MAP_CREATE: a one-entry array map
    attr = struct.pack('IIII', 2, 4, 4, 1) + bytes(112)
    return sc('bpf', L(0), ctypes.create_string_buffer(attr, len(attr)), L(len(attr)))
def kexec_load():  # flags no kernel knows: EINVAL once permitted
    return sc('kexec_load', L(0), L(0), None, L(0x8000))
def reboot():  # the wrong magic numbers: EINVAL once permitted, and nothing reboots
    return sc('reboot', L(0), L(0), L(0), None)
def init_module():  # an empty module image: ENOEXEC once permitted
    return sc('init_module', None, L(0), S(b''))
def finit_module():  # /dev/null as the module file: EINVAL once permitted
    fd = os.open('/dev/null', os.O_RDONLY)
    return sc('finit_module', L(fd), S(b''), L(0))
def settimeofday():  # no new time, no new zone: succeeds once permitted, and changes nothing
    return sc('settimeofday', None, None)
def swapon():  # a file that does not exist: ENOENT once permitted
    return sc('swapon', S(b'/nonexistent-cove-swap'), L(0))
def mount():  # a file system type that does not exist: ENODEV once permitted
    return sc('mount', S(b'none'), S(b'/tmp'), S(b'cove-no-such-fs'), L(0), None)
def unshare_user():
    return sc('unshare', L(0x10000000))
def unshare_mount():
    return sc('unshare', L(0x00020000))
def ptrace_attach(pid):  # PTRACE_ATTACH
    return sc('ptrace', L(16), L(pid), None, None)

def open_by_handle(mount_path, want):
    """'Shocker': a handle for inode 2 (the root directory of an ext4 file system) opened relative to a
    file on that file system; answers whether 'want' is listed in the directory it opened."""
    mfd = os.open(mount_path, os.O_RDONLY)
    handle = struct.pack('Ii', 8, 1) + struct.pack('II', 2, 0)  # 8 bytes, FILEID_INO32_GEN: inode 2, generation 0
    buf = ctypes.create_string_buffer(handle, len(handle))
    ctypes.set_errno(0)
    fd = libc.syscall(L(NR['open_by_handle_at']), L(mfd), buf, L(os.O_RDONLY | os.O_DIRECTORY))
    if fd == -1:
        return name(ctypes.get_errno())
    return 'opened, ' + ('found ' if want in os.listdir(fd) else 'without ') + want

def mknod_read(kind, major, minor, path):
    """Makes a device node and reads from it: '<mknod result> <read result>'."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    try:
        os.mknod(path, (stat.S_IFBLK if kind == 'b' else stat.S_IFCHR) | 0o600, os.makedev(major, minor))
        made = 'ok'
    except OSError as e:
        made = name(e.errno)
    try:
        fd = os.open(path, os.O_RDONLY)
        data = os.read(fd, 8192)  # a whole record of the kernel log, if that is what it is
        read = 'read %d bytes' % len(data)
    except OSError as e:
        read = name(e.errno)
    return made + ' ' + read

def chroot_escape(marker, jail):
    """The classic: chroot into a subdirectory (the jail) while keeping a directory outside it, climb '..'
    from there, chroot to where that ends. Answers 'escaped' if the marker (a host path) is then visible,
    otherwise 'contained' and what the new root holds."""
    os.makedirs(jail, exist_ok=True)
    outside = os.open('/', os.O_RDONLY)
    os.chroot(jail)
    os.fchdir(outside)
    for _ in range(64):
        os.chdir('..')
    os.chroot('.')
    return 'escaped' if os.path.exists(marker) else 'contained: ' + ' '.join(sorted(os.listdir('/')))

TEXT = b'cove-attack\n'
def write(path):  # appends to an existing file
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    os.write(fd, TEXT)
def reopen_write(path):  # opens read-only, then re-opens that descriptor for writing through /proc/self/fd
    fd = os.open(path, os.O_RDONLY)
    fd2 = os.open('/proc/self/fd/%d' % fd, os.O_WRONLY | os.O_APPEND)
    os.write(fd2, TEXT)
def replace(path):  # writes a new file next to it and renames it over it (how a token is rotated)
    with open(path + '.cove-new', 'wb') as f:
        f.write(TEXT)
    os.rename(path + '.cove-new', path)
def chmod(path):
    os.chmod(path, 0o666)
def link_write(path, link):  # hard-links it elsewhere (the writable root), then writes through the link
    if os.path.lexists(link):
        os.unlink(link)
    os.link(path, link)
    write(link)
def put(path, text):  # writes a value, as echo > file would
    fd = os.open(path, os.O_WRONLY)
    os.write(fd, text.encode())
def read_at(directory, relative):  # opens 'relative' from a descriptor of 'directory'
    fd = os.open(relative, os.O_RDONLY, dir_fd=os.open(directory, os.O_RDONLY | os.O_DIRECTORY))
    return 'read: ' + os.read(fd, 200).decode('utf8', 'replace')
def symlink_read(target, link):  # a symbolic link to 'target', read through
    if os.path.lexists(link):
        os.unlink(link)
    os.symlink(target, link)
    return read(link)
def symlink_write(target, link):  # a symbolic link to 'target', written through
    if os.path.lexists(link):
        os.unlink(link)
    os.symlink(target, link)
    write(link)
def processes_with(hex_text):  # how many visible processes have the text in their command line (given in hex,
    text = bytes.fromhex(hex_text)  # so that the command running the probes does not hold it)
    found = 0
    for pid in filter(str.isdigit, os.listdir('/proc')):
        try:
            with open('/proc/%s/cmdline' % pid, 'rb') as f:
                found += text in f.read().replace(b'\0', b' ')
        except OSError:
            pass
    return str(found)
def send_udp(src, dst, port, text):
    """Sends one UDP datagram; with a source address, forged (a raw socket: CAP_NET_RAW, which root has)."""
    import socket
    if src == '':
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(text.encode(), (dst, port))
        return
    payload = text.encode()
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 28 + len(payload), 0, 0, 64, 17, 0, socket.inet_aton(src), socket.inet_aton(dst))
    udp = struct.pack('!HHHH', 40000, port, 8 + len(payload), 0)  # no UDP checksum (allowed over IPv4)
    socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW).sendto(ip + udp + payload, (dst, 0))
def pid_of(hex_prefix):  # the lowest visible pid whose command line starts with the text (in hex), or 0
    prefix = bytes.fromhex(hex_prefix)
    for pid in sorted(map(int, filter(str.isdigit, os.listdir('/proc')))):
        try:
            with open('/proc/%d/cmdline' % pid, 'rb') as f:
                if f.read().replace(b'\0', b' ').startswith(prefix):
                    return str(pid)
        except OSError:
            pass
    return '0'
def mkdir(path):
    os.mkdir(path)
def read(path):
    with open(path, 'rb') as f:
        return 'read: ' + f.read(200).decode('utf8', 'replace')
def exists(path):
    return 'yes' if os.path.lexists(path) else 'no'
def listdir(path):
    return ' '.join(sorted(os.listdir(path)))

def attempt(call):
    fn, args = globals()[call[0]], call[1:]
    try:
        r = fn(*args)
        return 'ok' if r is None else r
    except OSError as e:
        return name(e.errno)

def in_child(call):
    rd, wr = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(rd)
        try:
            out = attempt(call)
        except Exception as e:
            out = 'error: %r' % (e,)
        os.write(wr, out.encode())
        os._exit(0)
    os.close(wr)
    chunks = []
    while True:
        b = os.read(rd, 65536)
        if not b:
            break
        chunks.append(b)
    os.waitpid(pid, 0)
    return b''.join(chunks).decode()

print(json.dumps([in_child(c) for c in CALLS]))
`;

function script(calls: Probe[]): string {
  // A JSON string is also a Python string literal.
  return `CALLS = __import__('json').loads(${JSON.stringify(JSON.stringify(calls))})\n${KIT}`;
}

/** The shell command that runs the probes with the python3 of the workspace's (the host's) /usr. */
export function probeCommand(calls: Probe[]): string {
  return `python3 - <<'COVE_PY'\n${script(calls)}\nCOVE_PY`;
}

/** Parses probeCommand's output: one answer per probe, in order. */
export function probeAnswers(stdout: string, calls: Probe[]): string[] {
  const answers = JSON.parse(stdout.trim().split('\n').at(-1) ?? '[]') as string[];
  if (answers.length !== calls.length) throw new Error(`expected ${calls.length} answers, got: ${stdout}`);
  return answers;
}

/** Runs the same probes on the host, as root outside any workspace (the control). */
export async function probeOnHost(calls: Probe[]): Promise<string[]> {
  const res = await run(['/usr/bin/python3', '-'], { input: script(calls), allowFailure: true, timeoutMs: 60_000 });
  if (res.code !== 0) throw new Error(`the probes failed on the host: ${res.stderr}`);
  return probeAnswers(res.stdout, calls);
}
