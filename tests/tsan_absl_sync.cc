// Linked into test binaries only by scripts/tsan. Debian's Abseil is not
// built with ThreadSanitizer, so TSan cannot see absl::Mutex, CondVar and
// Notification synchronize: every access guarded by an absl::Mutex would be
// reported as a race. These definitions interpose the library's (an
// executable's symbols come first in dynamic lookup, for the library's own
// calls too), call the real function found with dlsym(RTLD_NEXT), and tell
// TSan about the happens-before edge: release before giving a lock up or
// notifying, acquire after taking a lock or seeing a notification.
#include <dlfcn.h>
#include <sanitizer/tsan_interface.h>

#include <cstdio>
#include <cstdlib>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TCPEMU_TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define TCPEMU_TSAN 1
#endif
#ifndef TCPEMU_TSAN
#error "tsan_absl_sync.cc is only for builds with -fsanitize=thread"
#endif

namespace {

template <typename Fn>
Fn Lookup(const char* symbol) {
  void* p = dlsym(RTLD_NEXT, symbol);
  if (p == nullptr) {
    std::fprintf(stderr, "tsan_absl_sync: %s not found\n", symbol);
    std::abort();
  }
  return reinterpret_cast<Fn>(p);
}

// The library's definition of `symbol`, whose type (with `this` first) is
// ret(args...), looked up once.
#define REAL(symbol, ret, ...)                                   \
  ([] {                                                          \
    static const auto f = Lookup<ret (*)(__VA_ARGS__)>(#symbol); \
    return f;                                                    \
  }())

void Acquire(const void* p) { __tsan_acquire(const_cast<void*>(p)); }
void Release(const void* p) { __tsan_release(const_cast<void*>(p)); }

// A condition is evaluated inside the library with the mutex held, by the
// waiting thread or by the one unlocking, and a waiter then gives the mutex
// up inside the library: wrap the condition so that TSan sees the evaluating
// thread acquire the mutex before and release it after.
struct Wrapped {
  const absl::Condition* cond;
  const absl::Mutex* mu;
};
bool EvalAcquired(Wrapped* w) {
  Acquire(w->mu);
  // Looked up like the rest: the object must link into CMake's compiler
  // checks too, with no Abseil library on the line.
  const bool r = REAL(_ZNK4absl7debian39Condition4EvalEv, bool,
                      const absl::Condition*)(w->cond);
  Release(w->mu);
  return r;
}

}  // namespace

namespace absl {
ABSL_NAMESPACE_BEGIN

// Notification holds a Mutex, then the flag that HasBeenNotified() reads.
static_assert(sizeof(Mutex) == sizeof(intptr_t));
static_assert(sizeof(Notification) == 2 * sizeof(intptr_t));
static const void* NotifiedFlag(const Notification* n) {
  return reinterpret_cast<const char*>(n) + sizeof(Mutex);
}

void Mutex::Lock() {
  REAL(_ZN4absl7debian35Mutex4LockEv, void, Mutex*)(this);
  Acquire(this);
}
void Mutex::ReaderLock() {
  REAL(_ZN4absl7debian35Mutex10ReaderLockEv, void, Mutex*)(this);
  Acquire(this);
}
bool Mutex::TryLock() {
  bool ok = REAL(_ZN4absl7debian35Mutex7TryLockEv, bool, Mutex*)(this);
  if (ok) Acquire(this);
  return ok;
}
bool Mutex::ReaderTryLock() {
  bool ok = REAL(_ZN4absl7debian35Mutex13ReaderTryLockEv, bool, Mutex*)(this);
  if (ok) Acquire(this);
  return ok;
}
void Mutex::Unlock() {
  Release(this);
  REAL(_ZN4absl7debian35Mutex6UnlockEv, void, Mutex*)(this);
}
void Mutex::ReaderUnlock() {
  Release(this);
  REAL(_ZN4absl7debian35Mutex12ReaderUnlockEv, void, Mutex*)(this);
}
void Mutex::LockWhen(const Condition& c) {
  Wrapped w{&c, this};
  const Condition wc(&EvalAcquired, &w);
  REAL(_ZN4absl7debian35Mutex8LockWhenERKNS0_9ConditionE, void, Mutex*,
       const Condition&)
  (this, wc);
  Acquire(this);
}
void Mutex::ReaderLockWhen(const Condition& c) {
  Wrapped w{&c, this};
  const Condition wc(&EvalAcquired, &w);
  REAL(_ZN4absl7debian35Mutex14ReaderLockWhenERKNS0_9ConditionE, void, Mutex*,
       const Condition&)
  (this, wc);
  Acquire(this);
}
bool Mutex::LockWhenWithTimeout(const Condition& c, Duration d) {
  Wrapped w{&c, this};
  const Condition wc(&EvalAcquired, &w);
  bool r = REAL(
      _ZN4absl7debian35Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE,
      bool, Mutex*, const Condition&, Duration)(this, wc, d);
  Acquire(this);
  return r;
}
bool Mutex::LockWhenWithDeadline(const Condition& c, Time t) {
  Wrapped w{&c, this};
  const Condition wc(&EvalAcquired, &w);
  bool r = REAL(
      _ZN4absl7debian35Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE,
      bool, Mutex*, const Condition&, Time)(this, wc, t);
  Acquire(this);
  return r;
}
bool Mutex::ReaderLockWhenWithTimeout(const Condition& c, Duration d) {
  Wrapped w{&c, this};
  const Condition wc(&EvalAcquired, &w);
  bool r = REAL(
      _ZN4absl7debian35Mutex25ReaderLockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE,
      bool, Mutex*, const Condition&, Duration)(this, wc, d);
  Acquire(this);
  return r;
}
bool Mutex::ReaderLockWhenWithDeadline(const Condition& c, Time t) {
  Wrapped w{&c, this};
  const Condition wc(&EvalAcquired, &w);
  bool r = REAL(
      _ZN4absl7debian35Mutex26ReaderLockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE,
      bool, Mutex*, const Condition&, Time)(this, wc, t);
  Acquire(this);
  return r;
}
void Mutex::Await(const Condition& c) {
  Wrapped w{&c, this};
  const Condition wc(&EvalAcquired, &w);
  Release(this);
  REAL(_ZN4absl7debian35Mutex5AwaitERKNS0_9ConditionE, void, Mutex*,
       const Condition&)
  (this, wc);
  Acquire(this);
}
bool Mutex::AwaitWithTimeout(const Condition& c, Duration d) {
  Wrapped w{&c, this};
  const Condition wc(&EvalAcquired, &w);
  Release(this);
  bool r = REAL(
      _ZN4absl7debian35Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE,
      bool, Mutex*, const Condition&, Duration)(this, wc, d);
  Acquire(this);
  return r;
}
bool Mutex::AwaitWithDeadline(const Condition& c, Time t) {
  Wrapped w{&c, this};
  const Condition wc(&EvalAcquired, &w);
  Release(this);
  bool r = REAL(
      _ZN4absl7debian35Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE,
      bool, Mutex*, const Condition&, Time)(this, wc, t);
  Acquire(this);
  return r;
}

void CondVar::Wait(Mutex* mu) {
  Release(mu);
  REAL(_ZN4absl7debian37CondVar4WaitEPNS0_5MutexE, void, CondVar*, Mutex*)
  (this, mu);
  Acquire(mu);
}
bool CondVar::WaitWithTimeout(Mutex* mu, Duration d) {
  Release(mu);
  bool r =
      REAL(_ZN4absl7debian37CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE,
           bool, CondVar*, Mutex*, Duration)(this, mu, d);
  Acquire(mu);
  return r;
}
bool CondVar::WaitWithDeadline(Mutex* mu, Time t) {
  Release(mu);
  bool r =
      REAL(_ZN4absl7debian37CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE,
           bool, CondVar*, Mutex*, Time)(this, mu, t);
  Acquire(mu);
  return r;
}

// HasBeenNotified() is inline: its acquire load of the flag is instrumented
// and pairs with the release on the flag's address here.
void Notification::Notify() {
  Release(NotifiedFlag(this));
  REAL(_ZN4absl7debian312Notification6NotifyEv, void, Notification*)(this);
}
void Notification::WaitForNotification() const {
  REAL(_ZNK4absl7debian312Notification19WaitForNotificationEv, void,
       const Notification*)
  (this);
  Acquire(NotifiedFlag(this));
}
bool Notification::WaitForNotificationWithTimeout(Duration d) const {
  bool r = REAL(
      _ZNK4absl7debian312Notification30WaitForNotificationWithTimeoutENS0_8DurationE,
      bool, const Notification*, Duration)(this, d);
  if (r) Acquire(NotifiedFlag(this));
  return r;
}
bool Notification::WaitForNotificationWithDeadline(Time t) const {
  bool r = REAL(
      _ZNK4absl7debian312Notification31WaitForNotificationWithDeadlineENS0_4TimeE,
      bool, const Notification*, Time)(this, t);
  if (r) Acquire(NotifiedFlag(this));
  return r;
}

ABSL_NAMESPACE_END
}  // namespace absl
