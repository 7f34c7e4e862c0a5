set terminal pngcairo noenhanced size 1100,650 font 'Sans,12'
set output 'curves-weight-norm-model=cnn.png'
set title 'Weight norm per epoch -- cnn (mean over seeds)'
set xlabel 'epoch'
set ylabel 'weight norm ||theta|| (end of epoch)'
set grid
set key outside right top box
set datafile missing 'NaN'
set xtics 1
set xrange [0.9:3.1]
set yrange [9.902381690376156:50.672140228730065]
plot 'curves-weight-norm-model=cnn.dat' index 0 using 1:2 with linespoints linewidth 2 pointtype 5 pointsize 0.8 linecolor rgb '#1f77b4' dashtype 1 title 'sgd', \
     'curves-weight-norm-model=cnn.dat' index 1 using 1:2 with linespoints linewidth 2 pointtype 7 pointsize 0.8 linecolor rgb '#ff7f0e' dashtype 1 title 'sgds', \
     'curves-weight-norm-model=cnn.dat' index 2 using 1:2 with linespoints linewidth 2 pointtype 9 pointsize 0.8 linecolor rgb '#2ca02c' dashtype 1 title 'adam', \
     'curves-weight-norm-model=cnn.dat' index 3 using 1:2 with linespoints linewidth 2 pointtype 11 pointsize 0.8 linecolor rgb '#d62728' dashtype 1 title 'adamw', \
     'curves-weight-norm-model=cnn.dat' index 4 using 1:2 with linespoints linewidth 2 pointtype 5 pointsize 0.8 linecolor rgb '#9467bd' dashtype 1 title 'adams', \
     'curves-weight-norm-model=cnn.dat' index 5 using 1:2 with linespoints linewidth 2 pointtype 7 pointsize 0.8 linecolor rgb '#8c564b' dashtype 1 title 'amsgrad', \
     'curves-weight-norm-model=cnn.dat' index 6 using 1:2 with linespoints linewidth 2 pointtype 9 pointsize 0.8 linecolor rgb '#e377c2' dashtype 1 title 'amsgrads', \
     'curves-weight-norm-model=cnn.dat' index 7 using 1:2 with linespoints linewidth 2 pointtype 11 pointsize 0.8 linecolor rgb '#7f7f7f' dashtype 1 title 'adai', \
     'curves-weight-norm-model=cnn.dat' index 8 using 1:2 with linespoints linewidth 2 pointtype 5 pointsize 0.8 linecolor rgb '#bcbd22' dashtype 1 title 'adais'
set terminal svg noenhanced size 1100,650 dynamic font 'Sans,12'
set output 'curves-weight-norm-model=cnn.svg'
replot
unset output
