import SluiceCore

extension Worker {
    /// Gives a server of this worker to the client the pools chose for it. A client on another
    /// worker gets the server moved there first: its socket leaves this loop and joins the
    /// client's, so the pair is then served by one thread.
    func handOver(_ serverID: ServerID, to clientID: ClientID) {
        guard let server = servers[serverID], !server.state.isClosed else {
            // The server closed after the pools chose it (its removal is counted there): the
            // client asks again.
            onWorker(clientID.loop) { worker in
                guard let client = worker.clients[clientID], case .waiting = client.state else { return }
                worker.requestServer(for: client)
            }
            return
        }
        guard clientID.loop == index else {
            servers[serverID] = nil
            // The server's own read handler may still be on the stack (its ReadyForQuery ended
            // the transaction that freed it): let go of the socket once that has returned.
            loop.afterCurrentEvent { [self] in
                server.connection?.detach()
                onWorker(clientID.loop) { worker in
                    worker.adopt(server)
                    worker.handOver(serverID, to: clientID)
                }
            }
            return
        }
        guard let client = clients[clientID], case .waiting = client.state else {
            pools { $0.release(serverID, reusable: server.isIdle, loop: index) }
            return
        }
        link(client, to: server)
    }

    /// Takes in a server detached from another worker's loop.
    private func adopt(_ server: ServerConnection) {
        server.worker = self
        servers[server.id] = server
        server.connection?.attach(to: loop)
    }
}
