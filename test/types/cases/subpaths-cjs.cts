// The subpath exports from CommonJS.
import web = require('hyperws/web');
import redis = require('hyperws/redis');
import appKit = require('hyperws/app-kit');

const w: web.WebSocket = new web.WebSocket('ws://localhost');
const make: typeof redis.redisAdapter = redis.redisAdapter;
void [w, make, appKit.listen];
