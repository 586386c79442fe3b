"""Extensions as supervisord programs: config generation, an RPC plugin, and control over XML-RPC."""
