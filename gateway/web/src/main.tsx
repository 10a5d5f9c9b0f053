import { render } from 'preact';
import { App } from './app';
import './styles/base.css';
import './styles/components.css';
import './styles/pages.css';
import './styles/docs.css';

const root = document.getElementById('app');
if (root) render(<App />, root);
