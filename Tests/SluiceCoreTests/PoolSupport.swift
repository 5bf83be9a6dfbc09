import SluiceCore

func c(_ n: UInt64, loop: Int = 0) -> ClientID { ClientID(n, loop: loop) }
func s(_ n: UInt64) -> ServerID { ServerID(n) }

let poolA = PoolKey(database: "db", user: "alice")
