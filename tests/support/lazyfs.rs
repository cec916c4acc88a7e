//! A LazyFS-style FUSE file system for the storage fault matrix: it passes through to a
//! backing directory but keeps every file write that was not followed by `fsync` /
//! `fdatasync` of that file in memory, so a "power cut" ([`LazyFs::power_cut`]) loses
//! exactly the unsynced writes; and a switch ([`LazyFs::fail_writes`]) that makes every
//! modifying operation fail with a chosen errno (EROFS, ENOSPC, EIO) at the file-system
//! layer, as a read-only remount or a failing card would, until it is cleared.
//!
//! What it models: file data (writes, truncation) is volatile until the file is synced;
//! after a cut the backing directory holds the state of the last sync of each file.
//! What it does not: metadata (create, rename, unlink, mkdir) is applied to the backing
//! directory at once, as if every directory operation were synchronous; writes are not
//! torn inside one synced range; reads of unsynced data come from memory.
//!
//! Needs root (or `fusermount3` from Debian's `fuse3`) and /dev/fuse.
#![allow(dead_code)]

use fuser::{
    BsdFileFlags, Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation,
    INodeNo, LockOwner, MountOption, OpenFlags, RenameFlags, ReplyAttr, ReplyCreate, ReplyData,
    ReplyDirectory, ReplyEmpty, ReplyEntry, ReplyOpen, ReplyStatfs, ReplyWrite, Request, TimeOrNow,
    WriteFlags,
};
use std::collections::{BTreeSet, HashMap};
use std::ffi::OsStr;
use std::os::unix::fs::{FileExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const PAGE: u64 = 4096;
const TTL: Duration = Duration::ZERO;

/// Unsynced contents of one file: the whole file as the programs see it, and which pages
/// (and whether the length) differ from the backing file.
struct Shadow {
    data: Vec<u8>,
    dirty: BTreeSet<u64>,
    len_dirty: bool,
}

#[derive(Default)]
struct State {
    paths: HashMap<u64, PathBuf>,
    inos: HashMap<PathBuf, u64>,
    next_ino: u64,
    shadows: HashMap<u64, Shadow>,
    synced_writes: u64,
}

struct Switches {
    /// Set by a power cut: every operation fails with EIO, nothing more reaches the disk.
    cut: AtomicBool,
    /// Non-zero: every modifying operation fails with this errno.
    fail: AtomicI32,
}

struct Fs {
    backing: PathBuf,
    st: Arc<Mutex<State>>,
    sw: Arc<Switches>,
}

fn errno(e: std::io::Error) -> Errno {
    Errno::from_i32(e.raw_os_error().unwrap_or(libc::EIO))
}

fn kind(ft: std::fs::FileType) -> FileType {
    if ft.is_dir() {
        FileType::Directory
    } else if ft.is_symlink() {
        FileType::Symlink
    } else {
        FileType::RegularFile
    }
}

fn time(secs: i64, nsecs: i64) -> SystemTime {
    if secs >= 0 {
        UNIX_EPOCH + Duration::new(secs as u64, nsecs.clamp(0, 999_999_999) as u32)
    } else {
        UNIX_EPOCH
    }
}

impl Fs {
    fn real(&self, rel: &Path) -> PathBuf {
        self.backing.join(rel)
    }

    fn path_of(&self, st: &State, ino: INodeNo) -> Result<PathBuf, Errno> {
        st.paths.get(&ino.0).cloned().ok_or(Errno::ENOENT)
    }

    fn ino_for(st: &mut State, rel: PathBuf) -> u64 {
        if let Some(i) = st.inos.get(&rel) {
            return *i;
        }
        st.next_ino += 1;
        let i = st.next_ino;
        st.paths.insert(i, rel.clone());
        st.inos.insert(rel, i);
        i
    }

    fn forget_path(st: &mut State, rel: &Path) {
        if let Some(i) = st.inos.remove(rel) {
            st.paths.remove(&i);
            st.shadows.remove(&i);
        }
    }

    fn attr(&self, st: &State, ino: u64, rel: &Path) -> Result<FileAttr, Errno> {
        let m = std::fs::symlink_metadata(self.real(rel)).map_err(errno)?;
        let size = st
            .shadows
            .get(&ino)
            .map(|s| s.data.len() as u64)
            .unwrap_or(m.len());
        Ok(FileAttr {
            ino: INodeNo(ino),
            size,
            blocks: size.div_ceil(512),
            atime: time(m.atime(), m.atime_nsec()),
            mtime: time(m.mtime(), m.mtime_nsec()),
            ctime: time(m.ctime(), m.ctime_nsec()),
            crtime: UNIX_EPOCH,
            kind: kind(m.file_type()),
            perm: (m.permissions().mode() & 0o7777) as u16,
            nlink: m.nlink() as u32,
            uid: m.uid(),
            gid: m.gid(),
            rdev: 0,
            blksize: PAGE as u32,
            flags: 0,
        })
    }

    /// Removes `name` in `parent` with `remove` (a file or an empty directory), forgets it.
    fn remove(
        &self,
        parent: INodeNo,
        name: &OsStr,
        remove: fn(PathBuf) -> std::io::Result<()>,
    ) -> Result<(), Errno> {
        let (mut st, dir) = self.enter(true, parent)?;
        let rel = dir.join(name);
        remove(self.real(&rel)).map_err(errno)?;
        Fs::forget_path(&mut st, &rel);
        Ok(())
    }

    /// Passes the gate (see [`Fs::gate`]), locks the state and finds the path of `ino`.
    fn enter(&self, modifies: bool, ino: INodeNo) -> Result<Entered<'_>, Errno> {
        self.gate(modifies)?;
        let st = self.st.lock().map_err(|_| Errno::EIO)?;
        let rel = self.path_of(&st, ino)?;
        Ok((st, rel))
    }

    /// Answers a lookup or a creation with the attributes of `rel`, numbering it if new.
    fn answer_entry(&self, st: &mut State, rel: PathBuf, reply: ReplyEntry) {
        let ino = Fs::ino_for(st, rel.clone());
        match self.attr(st, ino, &rel) {
            Ok(a) => reply.entry(&TTL, &a, Generation(0)),
            Err(e) => reply.error(e),
        }
    }

    /// Answers with the attributes of `ino`, found at `rel`.
    fn answer_attr(&self, st: &State, ino: INodeNo, rel: &Path, reply: ReplyAttr) {
        match self.attr(st, ino.0, rel) {
            Ok(a) => reply.attr(&TTL, &a),
            Err(e) => reply.error(e),
        }
    }

    /// Fails with EIO after a cut, or with the switch's errno for a modifying operation.
    fn gate(&self, modifies: bool) -> Result<(), Errno> {
        if self.sw.cut.load(Ordering::SeqCst) {
            return Err(Errno::EIO);
        }
        let f = self.sw.fail.load(Ordering::SeqCst);
        if modifies && f != 0 {
            return Err(Errno::from_i32(f));
        }
        Ok(())
    }

    fn shadow<'a>(&self, st: &'a mut State, ino: u64, rel: &Path) -> Result<&'a mut Shadow, Errno> {
        match st.shadows.entry(ino) {
            std::collections::hash_map::Entry::Occupied(e) => Ok(e.into_mut()),
            std::collections::hash_map::Entry::Vacant(e) => {
                let data = std::fs::read(self.real(rel)).map_err(errno)?;
                Ok(e.insert(Shadow {
                    data,
                    dirty: BTreeSet::new(),
                    len_dirty: false,
                }))
            }
        }
    }

    /// Apply a file's unsynced writes to the backing file and sync it.
    fn sync(&self, st: &mut State, ino: u64) -> Result<(), Errno> {
        let rel = match st.paths.get(&ino) {
            Some(p) => p.clone(),
            None => return Ok(()),
        };
        let real = self.real(&rel);
        let Some(sh) = st.shadows.get_mut(&ino) else {
            // Nothing pending: still sync what reached the backing file.
            if let Ok(f) = std::fs::File::open(&real) {
                f.sync_all().map_err(errno)?;
            }
            return Ok(());
        };
        if sh.dirty.is_empty() && !sh.len_dirty {
            return Ok(());
        }
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(&real)
            .map_err(errno)?;
        let len = sh.data.len() as u64;
        let n = sh.dirty.len() as u64;
        for p in &sh.dirty {
            let from = p * PAGE;
            if from >= len {
                continue;
            }
            let to = (from + PAGE).min(len);
            f.write_all_at(&sh.data[from as usize..to as usize], from)
                .map_err(errno)?;
        }
        f.set_len(len).map_err(errno)?;
        f.sync_all().map_err(errno)?;
        sh.dirty.clear();
        sh.len_dirty = false;
        st.synced_writes += n;
        Ok(())
    }
}

/// The locked state and the path of the inode an operation is on.
type Entered<'a> = (MutexGuard<'a, State>, PathBuf);

macro_rules! tryr {
    ($reply:ident, $e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => {
                $reply.error(e);
                return;
            }
        }
    };
}

impl Filesystem for Fs {
    fn lookup(&self, _r: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        let (mut st, dir) = tryr!(reply, self.enter(false, parent));
        let rel = dir.join(name);
        if std::fs::symlink_metadata(self.real(&rel)).is_err() {
            reply.error(Errno::ENOENT);
            return;
        }
        self.answer_entry(&mut st, rel, reply);
    }

    fn getattr(&self, _r: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        let (st, rel) = tryr!(reply, self.enter(false, ino));
        self.answer_attr(&st, ino, &rel, reply);
    }

    fn setattr(
        &self,
        _r: &Request,
        ino: INodeNo,
        mode: Option<u32>,
        _uid: Option<u32>,
        _gid: Option<u32>,
        size: Option<u64>,
        _atime: Option<TimeOrNow>,
        _mtime: Option<TimeOrNow>,
        _ctime: Option<SystemTime>,
        _fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        let modifies = mode.is_some() || size.is_some();
        let (mut st, rel) = tryr!(reply, self.enter(modifies, ino));
        if let Some(m) = mode {
            let p = std::fs::Permissions::from_mode(m & 0o7777);
            tryr!(
                reply,
                std::fs::set_permissions(self.real(&rel), p).map_err(errno)
            );
        }
        if let Some(len) = size {
            let sh = tryr!(reply, self.shadow(&mut st, ino.0, &rel));
            sh.data.resize(len as usize, 0);
            sh.len_dirty = true;
            // A page cut by the new length and grown again must read zeros once synced.
            if len % PAGE != 0 {
                sh.dirty.insert(len / PAGE);
            }
        }
        self.answer_attr(&st, ino, &rel, reply);
    }

    fn mkdir(
        &self,
        _r: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        _u: u32,
        reply: ReplyEntry,
    ) {
        let (mut st, dir) = tryr!(reply, self.enter(true, parent));
        let rel = dir.join(name);
        tryr!(reply, std::fs::create_dir(self.real(&rel)).map_err(errno));
        let _ = std::fs::set_permissions(
            self.real(&rel),
            std::fs::Permissions::from_mode(mode & 0o7777),
        );
        self.answer_entry(&mut st, rel, reply);
    }

    fn unlink(&self, _r: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        tryr!(reply, self.remove(parent, name, std::fs::remove_file));
        reply.ok();
    }

    fn rmdir(&self, _r: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        tryr!(reply, self.remove(parent, name, std::fs::remove_dir));
        reply.ok();
    }

    fn rename(
        &self,
        _r: &Request,
        parent: INodeNo,
        name: &OsStr,
        newparent: INodeNo,
        newname: &OsStr,
        _flags: RenameFlags,
        reply: ReplyEmpty,
    ) {
        let (mut st, dir) = tryr!(reply, self.enter(true, parent));
        let from = dir.join(name);
        let to = tryr!(reply, self.path_of(&st, newparent)).join(newname);
        tryr!(
            reply,
            std::fs::rename(self.real(&from), self.real(&to)).map_err(errno)
        );
        Fs::forget_path(&mut st, &to);
        // Move the renamed node and everything under it (a directory) to the new path.
        let moved: Vec<(PathBuf, u64)> = st
            .inos
            .iter()
            .filter(|(p, _)| p.starts_with(&from))
            .map(|(p, i)| (p.clone(), *i))
            .collect();
        for (p, i) in moved {
            let rest = p
                .strip_prefix(&from)
                .map(Path::to_path_buf)
                .unwrap_or_default();
            let np = if rest.as_os_str().is_empty() {
                to.clone()
            } else {
                to.join(rest)
            };
            st.inos.remove(&p);
            st.inos.insert(np.clone(), i);
            st.paths.insert(i, np);
        }
        reply.ok();
    }

    fn open(&self, _r: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        let writes = flags.0 & libc::O_ACCMODE != libc::O_RDONLY || flags.0 & libc::O_TRUNC != 0;
        let (mut st, rel) = tryr!(reply, self.enter(writes, ino));
        if flags.0 & libc::O_TRUNC != 0 {
            let sh = tryr!(reply, self.shadow(&mut st, ino.0, &rel));
            sh.data.clear();
            sh.len_dirty = true;
        }
        reply.opened(FileHandle(0), FopenFlags::empty());
    }

    fn create(
        &self,
        _r: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        _umask: u32,
        flags: i32,
        reply: ReplyCreate,
    ) {
        let (mut st, dir) = tryr!(reply, self.enter(true, parent));
        let rel = dir.join(name);
        let real = self.real(&rel);
        let existed = real.exists();
        if existed && flags & libc::O_EXCL != 0 {
            reply.error(Errno::EEXIST);
            return;
        }
        if !existed {
            tryr!(reply, std::fs::File::create(&real).map_err(errno));
            let _ = std::fs::set_permissions(&real, std::fs::Permissions::from_mode(mode & 0o7777));
        }
        let ino = Fs::ino_for(&mut st, rel.clone());
        if existed && flags & libc::O_TRUNC != 0 {
            let sh = tryr!(reply, self.shadow(&mut st, ino, &rel));
            sh.data.clear();
            sh.len_dirty = true;
        }
        let a = tryr!(reply, self.attr(&st, ino, &rel));
        reply.created(&TTL, &a, Generation(0), FileHandle(0), FopenFlags::empty());
    }

    fn read(
        &self,
        _r: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock: Option<LockOwner>,
        reply: ReplyData,
    ) {
        tryr!(reply, self.gate(false));
        let st = tryr!(reply, self.st.lock().map_err(|_| Errno::EIO));
        if let Some(sh) = st.shadows.get(&ino.0) {
            let len = sh.data.len() as u64;
            let from = offset.min(len) as usize;
            let to = (offset + size as u64).min(len) as usize;
            reply.data(&sh.data[from..to]);
            return;
        }
        let rel = tryr!(reply, self.path_of(&st, ino));
        let f = tryr!(reply, std::fs::File::open(self.real(&rel)).map_err(errno));
        let mut buf = vec![0u8; size as usize];
        let mut got = 0usize;
        while got < buf.len() {
            match f.read_at(&mut buf[got..], offset + got as u64) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) => {
                    reply.error(errno(e));
                    return;
                }
            }
        }
        reply.data(&buf[..got]);
    }

    fn write(
        &self,
        _r: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        data: &[u8],
        _wf: WriteFlags,
        _flags: OpenFlags,
        _lock: Option<LockOwner>,
        reply: ReplyWrite,
    ) {
        let (mut st, rel) = tryr!(reply, self.enter(true, ino));
        let sh = tryr!(reply, self.shadow(&mut st, ino.0, &rel));
        let end = offset as usize + data.len();
        if sh.data.len() < end {
            sh.data.resize(end, 0);
            sh.len_dirty = true;
        }
        sh.data[offset as usize..end].copy_from_slice(data);
        if !data.is_empty() {
            for p in offset / PAGE..=(end as u64 - 1) / PAGE {
                sh.dirty.insert(p);
            }
        }
        reply.written(data.len() as u32);
    }

    fn flush(
        &self,
        _r: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _l: LockOwner,
        reply: ReplyEmpty,
    ) {
        // close() does not make data durable: nothing to do.
        reply.ok();
    }

    fn fsync(&self, _r: &Request, ino: INodeNo, _fh: FileHandle, _ds: bool, reply: ReplyEmpty) {
        tryr!(reply, self.gate(true));
        let mut st = tryr!(reply, self.st.lock().map_err(|_| Errno::EIO));
        tryr!(reply, self.sync(&mut st, ino.0));
        reply.ok();
    }

    fn fsyncdir(&self, _r: &Request, _ino: INodeNo, _fh: FileHandle, _ds: bool, reply: ReplyEmpty) {
        // Directory operations reach the backing directory at once (see the module text).
        tryr!(reply, self.gate(true));
        reply.ok();
    }

    fn readdir(
        &self,
        _r: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        let (mut st, rel) = tryr!(reply, self.enter(false, ino));
        let rd = tryr!(reply, std::fs::read_dir(self.real(&rel)).map_err(errno));
        let mut entries = vec![
            (ino.0, FileType::Directory, ".".into()),
            (ino.0, FileType::Directory, "..".into()),
        ];
        for e in rd.flatten() {
            let k = e.file_type().map(kind).unwrap_or(FileType::RegularFile);
            let i = Fs::ino_for(&mut st, rel.join(e.file_name()));
            entries.push((i, k, e.file_name()));
        }
        for (n, (i, k, name)) in entries.into_iter().enumerate().skip(offset as usize) {
            if reply.add(INodeNo(i), (n + 1) as u64, k, &name) {
                break;
            }
        }
        reply.ok();
    }

    fn statfs(&self, _r: &Request, _ino: INodeNo, reply: ReplyStatfs) {
        tryr!(reply, self.gate(false));
        match nix::sys::statvfs::statvfs(&self.backing) {
            Ok(s) => reply.statfs(
                s.blocks(),
                s.blocks_free(),
                s.blocks_available(),
                s.files(),
                s.files_free(),
                s.block_size() as u32,
                255,
                s.fragment_size() as u32,
            ),
            Err(e) => reply.error(Errno::from_i32(e as i32)),
        }
    }

    fn fallocate(
        &self,
        _r: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        length: u64,
        mode: i32,
        reply: ReplyEmpty,
    ) {
        tryr!(reply, self.gate(true));
        if mode != 0 {
            reply.error(Errno::from_i32(libc::EOPNOTSUPP));
            return;
        }
        let mut st = tryr!(reply, self.st.lock().map_err(|_| Errno::EIO));
        let rel = tryr!(reply, self.path_of(&st, ino));
        let sh = tryr!(reply, self.shadow(&mut st, ino.0, &rel));
        let end = (offset + length) as usize;
        if sh.data.len() < end {
            sh.data.resize(end, 0);
            sh.len_dirty = true;
        }
        reply.ok();
    }
}

/// A mounted LazyFS over a backing directory.
pub struct LazyFs {
    session: Option<fuser::BackgroundSession>,
    st: Arc<Mutex<State>>,
    sw: Arc<Switches>,
    pub mountpoint: PathBuf,
    pub backing: PathBuf,
}

impl LazyFs {
    /// Mount `backing` at `mountpoint` (both exist). Panics saying what to install when
    /// FUSE is not available.
    pub fn mount(backing: &Path, mountpoint: &Path) -> LazyFs {
        std::fs::create_dir_all(backing).expect("backing dir");
        std::fs::create_dir_all(mountpoint).expect("mount point");
        let sw = Arc::new(Switches {
            cut: AtomicBool::new(false),
            fail: AtomicI32::new(0),
        });
        let mut st = State {
            next_ino: 1,
            ..State::default()
        };
        st.paths.insert(1, PathBuf::new());
        st.inos.insert(PathBuf::new(), 1);
        let st = Arc::new(Mutex::new(st));
        let fs = Fs {
            backing: backing.to_path_buf(),
            st: st.clone(),
            sw: sw.clone(),
        };
        let mut cfg = fuser::Config::default();
        cfg.mount_options = vec![MountOption::FSName("layso-lazyfs".into())];
        let session = fuser::spawn_mount(fs, mountpoint, &cfg).unwrap_or_else(|e| {
            panic!(
                "mounting the LazyFS (FUSE) test file system at {} failed: {e}; it needs \
                 /dev/fuse and root, or `fusermount3` (apt-get install -y fuse3)",
                mountpoint.display()
            )
        });
        LazyFs {
            session: Some(session),
            st,
            sw,
            mountpoint: mountpoint.to_path_buf(),
            backing: backing.to_path_buf(),
        }
    }

    /// Make every modifying operation fail with `errno` (0 clears it).
    pub fn fail_writes(&self, errno: i32) {
        self.sw.fail.store(errno, Ordering::SeqCst);
    }

    /// A handle that cuts the power from another task.
    pub fn switch(&self) -> PowerSwitch {
        PowerSwitch(self.sw.clone())
    }

    /// Pages written and not yet synced (what a cut now would drop), and pages synced so far.
    pub fn pages(&self) -> (u64, u64) {
        match self.st.lock() {
            Ok(st) => (
                st.shadows.values().map(|s| s.dirty.len() as u64).sum(),
                st.synced_writes,
            ),
            Err(_) => (0, 0),
        }
    }

    /// Power cut: from this instant nothing more reaches the backing directory and every
    /// operation fails with EIO. Call [`LazyFs::unmount`] after the programs using it died.
    pub fn power_cut(&self) {
        self.sw.cut.store(true, Ordering::SeqCst);
    }

    /// Unmount (dropping whatever was never synced).
    pub fn unmount(mut self) {
        self.unmount_now();
    }

    fn unmount_now(&mut self) {
        if let Some(s) = self.session.take() {
            // Lazy detach first so a still-open file cannot keep it busy.
            let _ = std::process::Command::new("umount")
                .arg("-l")
                .arg(&self.mountpoint)
                .status();
            let _ = s.umount_and_join();
        }
    }
}

/// Cuts the power of one [`LazyFs`] (see [`LazyFs::power_cut`]).
#[derive(Clone)]
pub struct PowerSwitch(Arc<Switches>);

impl PowerSwitch {
    pub fn cut(&self) {
        self.0.cut.store(true, Ordering::SeqCst);
    }
}

impl Drop for LazyFs {
    fn drop(&mut self) {
        self.unmount_now();
    }
}
