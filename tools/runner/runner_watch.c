/*
** SPDX-License-Identifier: MIT
**
** runner_watch.c: ingestion of event files, the seed bridge's input.
**
**   mp-runner --db q.db --watch events/ --chat-id 12345
**
** Every regular file DIR/<name>.json is read (at most 1 MiB) and passed to
** SELECT mp_enqueue_event(json [, chat_id]); the file is deleted only
** after that statement returned, which means its row is committed. Files
** whose name starts with a dot, and any name not ending in .json (*.tmp
** included), are ignored: write an event to a temp name and rename it.
**
** A file the extension refuses is moved to DIR/rejected/<name>, next to
** DIR/rejected/<name>.reason holding the error; nothing is deleted
** silently. A refused file modified less than a second ago is left for
** the next scan instead, since its writer may still be writing it. A busy
** or failing database leaves every file in place for a later scan.
**
** HOW IT WORKS
**
** inotify (IN_CLOSE_WRITE, IN_MOVED_TO) on DIR wakes the runner's sleep
** and marks the directory dirty; the next loop iteration scans it, in name
** order, up to a bound per iteration so delivery keeps going during a
** flood. Without inotify the directory is scanned every second.
*/
#include "runner.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#define MP_EVENT_MAX  (1024 * 1024) /* largest event file read */
#define MP_SETTLE_MS  1000          /* age before a bad file is refused */
#define MP_SCAN_NAMES 10000         /* names collected per scan */
#define MP_RESCAN_MS  1000          /* polling period without inotify */

struct MpWatch {
  char *zDir;    /* the watched directory */
  int fdDir;     /* open directory, for the *at() calls */
  int fdNotify;  /* inotify descriptor, or -1 */
  int bDirty;    /* 1: scan at the next chance */
  i64 iRescanAt; /* monotonic ms of a scheduled scan, 0 = none */
};

/*
** Opens DIR for ingestion. Returns 0 and sets *ppWatch, or -1 after
** logging why (the directory does not exist or cannot be read).
*/
int mpWatchOpen(const char *zDir, MpWatch **ppWatch) {
  MpWatch *p;
  *ppWatch = 0;
  p = calloc(1, sizeof(*p));
  if (p == 0) return -1;
  p->fdNotify = -1;
  p->bDirty = 1;
  p->zDir = strdup(zDir);
  p->fdDir = open(zDir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (p->fdDir < 0 || p->zDir == 0) {
    mpRunLog(MP_LOG_ERROR, "watch: cannot open directory %s: %s", zDir,
             strerror(errno));
    mpWatchClose(p);
    return -1;
  }
  p->fdNotify = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (p->fdNotify >= 0 &&
      inotify_add_watch(p->fdNotify, zDir, IN_CLOSE_WRITE | IN_MOVED_TO) < 0) {
    close(p->fdNotify);
    p->fdNotify = -1;
  }
  if (p->fdNotify < 0) {
    mpRunLog(MP_LOG_WARN, "watch: no inotify (%s); scanning %s every %d ms",
             strerror(errno), zDir, MP_RESCAN_MS);
  }
  *ppWatch = p;
  return 0;
}

/*
** Returns the descriptor that becomes readable when a file arrives, or
** -1 when the directory is polled.
*/
int mpWatchFd(MpWatch *p) {
  return p->fdNotify;
}

/*
** Consumes the inotify events after the descriptor became readable and
** marks the directory for a scan.
*/
void mpWatchNotified(MpWatch *p) {
  char aBuf[4096];
  while (p->fdNotify >= 0 && read(p->fdNotify, aBuf, sizeof(aBuf)) > 0) {
  }
  p->bDirty = 1;
}

/*
** Returns 0 when the directory should be scanned now, the ms until a
** scheduled scan, or -1 when none is scheduled.
*/
int mpWatchPending(MpWatch *p, i64 iNowMs) {
  if (p->bDirty) return 0;
  if (p->fdNotify < 0 && p->iRescanAt == 0) p->iRescanAt = iNowMs;
  if (p->iRescanAt == 0) return -1;
  if (p->iRescanAt <= iNowMs) return 0;
  return (int)(p->iRescanAt - iNowMs);
}

/*
** Returns 1 when zName is an event file name: *.json, not a dotfile.
*/
static int mpWatchIsEvent(const char *zName) {
  size_t n = strlen(zName);
  return zName[0] != '.' && n > 5 && strcmp(zName + n - 5, ".json") == 0;
}

/*
** qsort() comparison of two name pointers.
*/
static int mpWatchCompare(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
** Writes zText to DIR/rejected/zName atomically (temp file and rename).
** Returns 0, or -1 with errno set.
*/
static int mpWatchWriteReason(int fdRej, const char *zName, const char *zText) {
  char zTmp[340];
  size_t n = strlen(zText);
  int fd, rc = -1;
  snprintf(zTmp, sizeof(zTmp), ".%s.tmp", zName);
  fd = openat(fdRej, zTmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return -1;
  if (write(fd, zText, n) == (ssize_t)n && write(fd, "\n", 1) == 1 &&
      fsync(fd) == 0) {
    rc = 0;
  }
  if (close(fd) != 0) rc = -1;
  if (rc == 0) rc = renameat(fdRej, zTmp, fdRej, zName);
  if (rc != 0) unlinkat(fdRej, zTmp, 0);
  return rc;
}

/*
** Moves DIR/zName to DIR/rejected/ with a .reason file holding zReason.
** Returns 0, or -1 after logging why the file had to stay where it is.
*/
static int mpWatchReject(MpWatch *p, const char *zName, const char *zReason) {
  char zTarget[300], zReasonName[320];
  struct stat st;
  int fdRej, rc = -1;
  if (mkdirat(p->fdDir, "rejected", 0700) != 0 && errno != EEXIST) {
    mpRunLog(MP_LOG_ERROR, "watch: cannot create %s/rejected: %s", p->zDir,
             strerror(errno));
    return -1;
  }
  fdRej = openat(p->fdDir, "rejected", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fdRej < 0) {
    mpRunLog(MP_LOG_ERROR, "watch: cannot open %s/rejected: %s", p->zDir,
             strerror(errno));
    return -1;
  }
  snprintf(zTarget, sizeof(zTarget), "%s", zName);
  for (int i = 1; i < 1000 && fstatat(fdRej, zTarget, &st, 0) == 0; i++) {
    snprintf(zTarget, sizeof(zTarget), "%s.%d", zName, i);
  }
  snprintf(zReasonName, sizeof(zReasonName), "%s.reason", zTarget);
  if (mpWatchWriteReason(fdRej, zReasonName, zReason) != 0) {
    mpRunLog(MP_LOG_ERROR, "watch: cannot write %s/rejected/%s: %s", p->zDir,
             zReasonName, strerror(errno));
  } else if (renameat(p->fdDir, zName, fdRej, zTarget) != 0) {
    mpRunLog(MP_LOG_ERROR, "watch: cannot move %s/%s to rejected/: %s", p->zDir,
             zName, strerror(errno));
  } else {
    fsync(fdRej);
    fsync(p->fdDir);
    mpRunLog(MP_LOG_WARN, "watch: rejected %s/%s: %s (moved to rejected/%s)",
             p->zDir, zName, zReason, zTarget);
    rc = 0;
  }
  close(fdRej);
  return rc;
}

/*
** Reads DIR/zName into a malloc'ed, NUL-terminated buffer. Returns 0 with
** *pz, *pn and *pst set; 1 when the file is not a regular file or is gone
** (skip it); -1 with *pzWhy set (static text) when it cannot be read.
*/
static int mpWatchRead(MpWatch *p, const char *zName, char **pz, size_t *pn,
                       struct stat *pst, const char **pzWhy) {
  int fd =
      openat(p->fdDir, zName, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  size_t n = 0;
  char *z;
  *pz = 0;
  if (fd < 0) {
    if (errno == ENOENT || errno == ELOOP) return 1;
    *pzWhy = strerror(errno);
    return -1;
  }
  if (fstat(fd, pst) != 0 || !S_ISREG(pst->st_mode)) {
    close(fd);
    return 1;
  }
  if (pst->st_size > MP_EVENT_MAX) {
    close(fd);
    *pzWhy = "event file larger than 1 MiB";
    return -1;
  }
  z = malloc((size_t)pst->st_size + 1);
  if (z == 0) {
    close(fd);
    *pzWhy = "out of memory";
    return -1;
  }
  while (n < (size_t)pst->st_size) {
    ssize_t k = read(fd, z + n, (size_t)pst->st_size - n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) break;
    n += (size_t)k;
  }
  close(fd);
  z[n] = 0;
  *pz = z;
  *pn = n;
  return 0;
}

/*
** Scans DIR once and enqueues up to nMax event files. Returns the number
** of files enqueued (and deleted). Files left for later schedule another
** scan; nothing is ever deleted before its row is committed.
*/
int mpWatchIngest(MpWatch *p, MpDb *pDb, int bChat, i64 iChat, int nMax,
                  i64 iNowMs) {
  char **azName = 0;
  int nName = 0, nAlloc = 0, nDone = 0, bMore = 0, bRetry = 0;
  DIR *pDir;
  struct dirent *pEnt;
  int fd = dup(p->fdDir);
  p->bDirty = 0;
  p->iRescanAt = 0;
  pDir = fd >= 0 ? fdopendir(fd) : 0;
  if (pDir == 0) {
    mpRunLog(MP_LOG_ERROR, "watch: cannot read %s: %s", p->zDir,
             strerror(errno));
    if (fd >= 0) close(fd);
    p->iRescanAt = iNowMs + MP_RESCAN_MS;
    return 0;
  }
  rewinddir(pDir);
  while ((pEnt = readdir(pDir)) != 0) {
    if (!mpWatchIsEvent(pEnt->d_name)) continue;
    if (nName >= MP_SCAN_NAMES) {
      bMore = 1;
      break;
    }
    if (nName == nAlloc) {
      int nNew = nAlloc ? nAlloc * 2 : 64;
      char **azNew = realloc(azName, (size_t)nNew * sizeof(char *));
      if (azNew == 0) {
        bMore = 1;
        break;
      }
      azName = azNew;
      nAlloc = nNew;
    }
    azName[nName] = strdup(pEnt->d_name);
    if (azName[nName]) nName++;
  }
  closedir(pDir);
  if (nName > 0) qsort(azName, (size_t)nName, sizeof(char *), mpWatchCompare);
  for (int i = 0; i < nName; i++) {
    const char *zName = azName[i];
    const char *zWhy = 0;
    char *zJson = 0, *zErr = 0;
    size_t nJson = 0;
    struct stat st;
    int rc;
    if (nDone >= nMax) {
      bMore = 1;
      break;
    }
    rc = mpWatchRead(p, zName, &zJson, &nJson, &st, &zWhy);
    if (rc == 1) continue;
    if (rc < 0) {
      mpWatchReject(p, zName, zWhy);
      continue;
    }
    rc = mpDbEnqueueEvent(pDb, zJson, nJson, bChat, iChat, &zErr);
    free(zJson);
    if (rc == SQLITE_OK) {
      if (unlinkat(p->fdDir, zName, 0) != 0) {
        mpRunLog(MP_LOG_ERROR,
                 "watch: %s/%s was queued but cannot be deleted: %s; it "
                 "will be queued again",
                 p->zDir, zName, strerror(errno));
      } else {
        mpRunLog(MP_LOG_INFO, "watch: queued %s/%s", p->zDir, zName);
      }
      nDone++;
    } else if ((rc & 0xff) != SQLITE_ERROR && (rc & 0xff) != SQLITE_TOOBIG &&
               (rc & 0xff) != SQLITE_MISMATCH &&
               (rc & 0xff) != SQLITE_CONSTRAINT &&
               (rc & 0xff) != SQLITE_RANGE) {
      /* The database, not the event: keep every file for later. */
      mpRunLog(MP_LOG_WARN, "watch: %s/%s left for later: %s", p->zDir, zName,
               zErr ? zErr : sqlite3_errstr(rc));
      bRetry = 1;
      free(zErr);
      break;
    } else {
      i64 iAge = mpRunWallMs() -
                 ((i64)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000);
      if (iAge >= 0 && iAge < MP_SETTLE_MS) {
        mpRunLog(MP_LOG_DEBUG, "watch: %s/%s refused while fresh, retrying",
                 p->zDir, zName);
        bRetry = 1;
      } else {
        mpWatchReject(p, zName, zErr ? zErr : "refused by mp_enqueue_event");
      }
    }
    free(zErr);
  }
  for (int i = 0; i < nName; i++)
    free(azName[i]);
  free(azName);
  if (nDone > 0) fsync(p->fdDir);
  if (bMore) p->bDirty = 1;
  if (bRetry) p->iRescanAt = iNowMs + MP_SETTLE_MS;
  if (p->fdNotify < 0 && p->iRescanAt == 0) {
    p->iRescanAt = iNowMs + MP_RESCAN_MS;
  }
  return nDone;
}

/*
** Stops watching and frees p; p may be NULL.
*/
void mpWatchClose(MpWatch *p) {
  if (p == 0) return;
  if (p->fdNotify >= 0) close(p->fdNotify);
  if (p->fdDir >= 0) close(p->fdDir);
  free(p->zDir);
  free(p);
}
