/** The e2e suite (spec/e2e/site-suite.ts) on the default release's container lab. */
import { siteSuite } from './site-suite.ts';

siteSuite().run();
