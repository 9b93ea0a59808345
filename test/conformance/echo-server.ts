/**
 * The server under test for the conformance suite: the shared echo-server fixture
 * (test/helpers/echo-server.ts), re-exported under the names this suite has always used.
 */
export { startEchoServer, type EchoServer, type EchoServerOptions, type SeenClose } from "../helpers/echo-server.js";
