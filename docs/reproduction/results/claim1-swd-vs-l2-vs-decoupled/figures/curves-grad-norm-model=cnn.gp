set terminal pngcairo noenhanced size 1100,650 font 'Sans,12'
set output 'curves-grad-norm-model=cnn.png'
set title 'Gradient norm per epoch -- cnn (mean over seeds)'
set xlabel 'epoch'
set ylabel 'gradient norm ||grad L|| (mean over the epoch), log scale'
set grid
set key outside right top box
set datafile missing 'NaN'
set logscale y 10
set ytics ('0.6' 0.6, '0.7' 0.7, '0.8' 0.8, '0.9' 0.9, '1' 1, '2' 2)
set xtics 1
set xrange [0.9:3.1]
set yrange [0.5164940131520342:2.869308518925155]
plot 'curves-grad-norm-model=cnn.dat' index 0 using 1:2 with linespoints linewidth 2 pointtype 5 pointsize 0.8 linecolor rgb '#1f77b4' dashtype 1 title 'sgd', \
     'curves-grad-norm-model=cnn.dat' index 1 using 1:2 with linespoints linewidth 2 pointtype 7 pointsize 0.8 linecolor rgb '#ff7f0e' dashtype 1 title 'sgds', \
     'curves-grad-norm-model=cnn.dat' index 2 using 1:2 with linespoints linewidth 2 pointtype 9 pointsize 0.8 linecolor rgb '#2ca02c' dashtype 1 title 'adam', \
     'curves-grad-norm-model=cnn.dat' index 3 using 1:2 with linespoints linewidth 2 pointtype 11 pointsize 0.8 linecolor rgb '#d62728' dashtype 1 title 'adamw', \
     'curves-grad-norm-model=cnn.dat' index 4 using 1:2 with linespoints linewidth 2 pointtype 5 pointsize 0.8 linecolor rgb '#9467bd' dashtype 1 title 'adams', \
     'curves-grad-norm-model=cnn.dat' index 5 using 1:2 with linespoints linewidth 2 pointtype 7 pointsize 0.8 linecolor rgb '#8c564b' dashtype 1 title 'amsgrad', \
     'curves-grad-norm-model=cnn.dat' index 6 using 1:2 with linespoints linewidth 2 pointtype 9 pointsize 0.8 linecolor rgb '#e377c2' dashtype 1 title 'amsgrads', \
     'curves-grad-norm-model=cnn.dat' index 7 using 1:2 with linespoints linewidth 2 pointtype 11 pointsize 0.8 linecolor rgb '#7f7f7f' dashtype 1 title 'adai', \
     'curves-grad-norm-model=cnn.dat' index 8 using 1:2 with linespoints linewidth 2 pointtype 5 pointsize 0.8 linecolor rgb '#bcbd22' dashtype 1 title 'adais'
set terminal svg noenhanced size 1100,650 dynamic font 'Sans,12'
set output 'curves-grad-norm-model=cnn.svg'
replot
unset output
