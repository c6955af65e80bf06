// aws-local-stepfunctions 3 calls Promise.withResolvers, which Node 20 lacks.
import '../core/polyfills.ts';

// The AWS SDK's once-per-process notice that it will need Node 22 from 2027 (as in bin/skyless.js).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
