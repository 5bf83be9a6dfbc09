import SluiceCore

func c(_ n: UInt64) -> ClientID { ClientID(n) }
func s(_ n: UInt64) -> ServerID { ServerID(n) }

let poolA = PoolKey(database: "db", user: "alice")
