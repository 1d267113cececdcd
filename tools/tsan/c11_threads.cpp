// Linked into the ThreadSanitizer test builds only (METERSYNC_SANITIZE=thread).
//
// librdkafka starts and joins its threads and takes its locks through C11 <threads.h>
// (thrd_create, mtx_lock, cnd_wait). glibc implements those by calling its pthread
// functions internally, past the symbols ThreadSanitizer intercepts: a thread started that
// way has no ThreadSanitizer state and crashes at its first intercepted call, and its locks
// would be invisible. These definitions take precedence over glibc's for librdkafka (the
// executable's symbols come first) and forward to the intercepted pthread functions. On
// glibc thrd_t is pthread_t, mtx_t and cnd_t have pthread's layout, and the results map
// one to one.
#include <errno.h>
#include <pthread.h>
#include <threads.h>

#include <cstdint>
#include <ctime>

namespace {

struct Start {
  thrd_start_t function;
  void* argument;
};

void* run(void* start) {
  const Start copy = *static_cast<Start*>(start);
  delete static_cast<Start*>(start);
  return reinterpret_cast<void*>(static_cast<std::intptr_t>(copy.function(copy.argument)));
}

int result(int pthread_error) {
  if (pthread_error == 0) return thrd_success;
  if (pthread_error == ENOMEM) return thrd_nomem;
  if (pthread_error == ETIMEDOUT) return thrd_timedout;
  if (pthread_error == EBUSY) return thrd_busy;
  return thrd_error;
}

}  // namespace

extern "C" {

int thrd_create(thrd_t* thread, thrd_start_t function, void* argument) {
  auto* start = new Start{function, argument};
  const int error = pthread_create(thread, nullptr, run, start);
  if (error != 0) delete start;
  return result(error);
}

int thrd_join(thrd_t thread, int* exit_code) {
  void* value = nullptr;
  const int error = pthread_join(thread, &value);
  if (error == 0 && exit_code != nullptr) {
    *exit_code = static_cast<int>(reinterpret_cast<std::intptr_t>(value));
  }
  return result(error);
}

int thrd_detach(thrd_t thread) { return result(pthread_detach(thread)); }

int mtx_init(mtx_t* mutex, int type) {
  pthread_mutexattr_t attributes;
  pthread_mutexattr_init(&attributes);
  if ((type & mtx_recursive) != 0) pthread_mutexattr_settype(&attributes, PTHREAD_MUTEX_RECURSIVE);
  const int error = pthread_mutex_init(reinterpret_cast<pthread_mutex_t*>(mutex), &attributes);
  pthread_mutexattr_destroy(&attributes);
  return result(error);
}
void mtx_destroy(mtx_t* mutex) { pthread_mutex_destroy(reinterpret_cast<pthread_mutex_t*>(mutex)); }
int mtx_lock(mtx_t* mutex) { return result(pthread_mutex_lock(reinterpret_cast<pthread_mutex_t*>(mutex))); }
int mtx_trylock(mtx_t* mutex) {
  return result(pthread_mutex_trylock(reinterpret_cast<pthread_mutex_t*>(mutex)));
}
int mtx_timedlock(mtx_t* mutex, const struct timespec* until) {
  return result(pthread_mutex_timedlock(reinterpret_cast<pthread_mutex_t*>(mutex), until));
}
int mtx_unlock(mtx_t* mutex) {
  return result(pthread_mutex_unlock(reinterpret_cast<pthread_mutex_t*>(mutex)));
}

int cnd_init(cnd_t* condition) {
  return result(pthread_cond_init(reinterpret_cast<pthread_cond_t*>(condition), nullptr));
}
void cnd_destroy(cnd_t* condition) { pthread_cond_destroy(reinterpret_cast<pthread_cond_t*>(condition)); }
int cnd_signal(cnd_t* condition) {
  return result(pthread_cond_signal(reinterpret_cast<pthread_cond_t*>(condition)));
}
int cnd_broadcast(cnd_t* condition) {
  return result(pthread_cond_broadcast(reinterpret_cast<pthread_cond_t*>(condition)));
}
int cnd_wait(cnd_t* condition, mtx_t* mutex) {
  return result(pthread_cond_wait(reinterpret_cast<pthread_cond_t*>(condition),
                                  reinterpret_cast<pthread_mutex_t*>(mutex)));
}
int cnd_timedwait(cnd_t* condition, mtx_t* mutex, const struct timespec* until) {
  return result(pthread_cond_timedwait(reinterpret_cast<pthread_cond_t*>(condition),
                                       reinterpret_cast<pthread_mutex_t*>(mutex), until));
}

}  // extern "C"
