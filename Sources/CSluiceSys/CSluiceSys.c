#define _GNU_SOURCE
#include "CSluiceSys.h"
#include <string.h>
#include <unistd.h>
#include <errno.h>

const uint32_t SLUICE_EPOLLIN = EPOLLIN;
const uint32_t SLUICE_EPOLLOUT = EPOLLOUT;
const uint32_t SLUICE_EPOLLERR = EPOLLERR;
const uint32_t SLUICE_EPOLLHUP = EPOLLHUP;
const uint32_t SLUICE_EPOLLRDHUP = EPOLLRDHUP;

int sluice_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int sluice_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data) {
    struct epoll_event event;
    memset(&event, 0, sizeof event);
    event.events = events;
    event.data.u64 = data;
    return epoll_ctl(epfd, op, fd, &event);
}

int sluice_epoll_wait(int epfd, uint32_t *events, uint64_t *data, int max, int timeout_ms) {
    struct epoll_event buffer[256];
    if (max > 256) max = 256;
    int count = epoll_wait(epfd, buffer, max, timeout_ms);
    for (int i = 0; i < count; i++) {
        events[i] = buffer[i].events;
        data[i] = buffer[i].data.u64;
    }
    return count;
}

int sluice_accept4(int fd, struct sockaddr_storage *address, socklen_t *length) {
    *length = sizeof *address;
    return accept4(fd, (struct sockaddr *)address, length, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

int sluice_eventfd(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

int sluice_signalfd_for_shutdown_and_reload(void) {
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGHUP);
    sigaddset(&mask, SIGQUIT);
    sigaddset(&mask, SIGUSR1);
    sigaddset(&mask, SIGUSR2);
    if (pthread_sigmask(SIG_BLOCK, &mask, NULL) != 0) return -1;
    return signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
}

int sluice_signalfd_read(int fd) {
    struct signalfd_siginfo info;
    ssize_t got = read(fd, &info, sizeof info);
    if (got == (ssize_t)sizeof info) return (int)info.ssi_signo;
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
    return -1;
}

void sluice_ignore_sigpipe(void) { signal(SIGPIPE, SIG_IGN); }

int64_t sluice_peer_uid(int fd) {
    struct ucred credentials;
    socklen_t length = sizeof(credentials);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) return -1;
    return (int64_t)credentials.uid;
}
