// Package respguard checks the bytes a server sends before rueidis reads
// them, so that no reply can end the process.
//
// rueidis v1.0.80 reads replies in a goroutine of its own, where a panic
// cannot be recovered, and trusts the lengths it reads: a bulk string of
// length -2 or an array of -2 elements makes it panic (makeslice), a
// length of 10^12 makes the Go runtime fail for want of memory (a fatal
// error, not a panic), and a reply nested a million arrays deep overflows
// its stack. Redis never sends such replies; a server that is not Redis,
// a broken proxy or a hostile peer can.
//
// A [Reader] sits between the socket and rueidis. It reads the stream as
// rueidis will, message by message, and hands rueidis only bytes it has
// checked:
//
//   - A reply that breaks RESP's grammar, or that rueidis cannot read
//     without crashing (a negative length other than -1, -1 elements in
//     a map, a number beyond 64 bits, aggregates nested deeper than
//     [MaxDepth], a streamed "?" length), is refused: rueidis gets the
//     bytes before it and then an *[Error], so it closes the connection
//     and fails the commands waiting on it with that error.
//
//   - What rueidis allocates for a reply as it reads its lengths (40 bytes
//     an element, a bulk string's length) may not run ahead of the bytes
//     that arrived: at most 16 times them plus 64 KiB. A longer length is
//     held back, with the bytes after it, until enough of the reply has
//     come. A reply that Redis sends always has the bytes its lengths
//     promise, so it is held at most until it is complete; the replies of
//     a few kilobytes that make up the traffic are never held.
//
//   - Once [Reader.FollowCommands] is called, and [Reader.Sent] told of
//     every command written, each reply must answer one: a reply when
//     every command had had its reply, a push confirming a subscription
//     on a socket that never subscribed, an EXEC reply that does not hold
//     one reply for each command its transaction queued, and a push inside
//     a reply are refused (rueidis panicked on each, or read the replies
//     after out of step; commands.go says which commands make the guard
//     stop following a socket rather than guess).
//
// What it does not check: the shape of a reply to another command than
// EXEC (rueidis checks the types it reads and fails the command), and a
// reply that answers a command with what another command would get.
package respguard
