#ifndef SLUICE_CSLUICESYS_H
#define SLUICE_CSLUICESYS_H

#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>

/* Swift's Glibc module does not expose these; thin wrappers keep the Swift side free of macros. */

int sluice_epoll_create(void);
int sluice_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data);
/* Waits for events; fills parallel arrays of event masks and user data. Returns the count or -1. */
int sluice_epoll_wait(int epfd, uint32_t *events, uint64_t *data, int max, int timeout_ms);
int sluice_accept4(int fd, struct sockaddr_storage *address, socklen_t *length);
int sluice_eventfd(void);
/* Blocks SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 in the calling thread and returns a signalfd for them. */
int sluice_signalfd_for_shutdown_and_reload(void);
/* Reads one signal from a signalfd: returns the signal number, 0 if none is pending, -1 on error. */
int sluice_signalfd_read(int fd);
/* The user id of the process at the other end of a Unix socket (SO_PEERCRED); -1 on error. */
int64_t sluice_peer_uid(int fd);
/* Ignores SIGPIPE process-wide, so a write to a closed peer returns EPIPE. */
void sluice_ignore_sigpipe(void);

extern const uint32_t SLUICE_EPOLLIN;
extern const uint32_t SLUICE_EPOLLOUT;
extern const uint32_t SLUICE_EPOLLERR;
extern const uint32_t SLUICE_EPOLLHUP;
extern const uint32_t SLUICE_EPOLLRDHUP;

#endif
